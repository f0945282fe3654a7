"""A 2-D model over a volume: slice by slice, equal to the engine on each slice, NIfTI out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from engine_helpers import build, tiny

from segcore.cli import main
from segcore.engine import InferOptions, infer
from segcore.engine.volume import infer_volume
from segcore.errors import InferenceError
from segcore.io import open_image
from segcore.io.plane import PlaneSource
from segcore.jobs import run_to_end
from segcore.labels.schema import UNLABELLED
from segcore.labels.store import LabelStore
from segcore.models.files import save_model

W, H, D = 40, 28, 4
AFFINE = np.array([[-0.7, 0, 0, 30.0], [0, 0.7, 0, -20.0], [0, 0, 3.0, 5.0], [0, 0, 0, 1]])


def write_volume(path: Path) -> Path:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 255, (W, H, D)).astype(np.uint8)
    data[10:20, 5:15, :] = 250
    nib.save(nib.Nifti1Image(data, AFFINE), path)
    return path


def test_each_slice_equals_the_engine_on_that_slice(tmp_path: Path) -> None:
    source = open_image(write_volume(tmp_path / "v.nii.gz"))
    model = tiny(in_channels=1)
    store = LabelStore.create(tmp_path / "p.zarr", width=W, height=H, depth=D, chunk=16)
    steps = []
    result = run_to_end(
        infer_volume(source, model, store, slices=(1, 2), options=InferOptions(device="cpu")),
        steps.append,
    )
    assert result.slices == (1, 2) and steps[-1].done == steps[-1].total == 2 * W * H
    for z in (1, 2):
        alone = run_to_end(infer(PlaneSource(source, z), model, None)).labels
        np.testing.assert_array_equal(store.plane(z).read("semantic", 0, 0, W, H), alone)
    assert store.slice_counts()[[0, 3]].tolist() == [0, 0]  # slices not asked for: untouched
    # stopping after the first slice leaves the rest untouched
    job = infer_volume(source, model, store, slices=(3,), options=InferOptions(device="cpu"))
    next(job)
    job.close()
    assert store.slice_counts()[3] == 0
    with pytest.raises(InferenceError, match="label volume is 40x28x1"):
        small = LabelStore.create(tmp_path / "s.zarr", width=W, height=H)
        run_to_end(infer_volume(source, model, small))
    source.close()


def test_cli_writes_a_nifti_on_the_image_grid(tmp_path: Path) -> None:
    volume = write_volume(tmp_path / "v.nii.gz")
    model = build("small_unet", classes=3, in_channels=1)
    model_path = save_model(tmp_path / "m.safetensors", model.module, model.meta)
    out = tmp_path / "pred.nii.gz"
    code = main(["infer", str(volume), "-m", str(model_path), "-o", str(out), "--slices", "1:3",
                 "--device", "cpu"])  # fmt: skip
    assert code == 0
    written: Any = nib.load(out)
    np.testing.assert_allclose(written.affine, AFFINE)
    assert written.header.get_zooms() == pytest.approx((0.7, 0.7, 3.0))
    data = np.asarray(written.dataobj)
    assert data.shape == (W, H, D) and not data[..., 0].any() and not data[..., 3].any()
    assert data[..., 1].min() >= 1  # every pixel of a slice run gets a class (id + 1)
    source = open_image(volume)
    direct = run_to_end(infer(PlaneSource(source, 2), model, None)).labels
    assert direct is not None and (direct != UNLABELLED).all()
    np.testing.assert_array_equal(data[..., 2], (direct.T[:, ::-1] + 1))
    source.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m.safetensors",
        "pred.nii.gz",
        "v.nii.gz",
    ]
