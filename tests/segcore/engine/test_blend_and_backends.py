"""Blended mode for models with global context; onnxruntime runners; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from engine_helpers import TinyNet, build, tiny, whole_image_logits

from segcore.cli import main
from segcore.engine import InferOptions, infer
from segcore.errors import ModelError
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.synthetic import make_scene, write_geotiff


def test_auto_mode_blends_a_model_without_a_receptive_field_and_says_so() -> None:
    model = tiny(rf=None)
    image = make_scene(90, 110, seed=1).image
    job = infer(ArraySource(image), model, options=InferOptions(device="cpu", logits=True, tile=32))
    first = next(job)
    assert "blended" in first.message and first.done == 0
    result = run_to_end(job)
    assert result.mode == "blend" and len(result.notices) == 1
    assert result.halo == 4 and result.tiles > 1  # tile / 8
    assert result.logits is not None
    ref = whole_image_logits(model, image)
    # blending is close but, unlike exact mode, not equal to the whole-image pass
    assert 1e-3 < np.abs(result.logits - ref).max() < 1.0
    assert (result.labels == ref.argmax(0)).mean() > 0.9


def test_blend_with_a_wide_overlap_is_close_to_the_whole_image_for_both_windows() -> None:
    model = tiny()
    image = make_scene(70, 70, seed=2).image
    ref = whole_image_logits(model, image)
    for window in ("gaussian", "cosine"):
        opts = InferOptions(device="cpu", mode="blend", window=window, tile=32, halo=8, logits=True)  # type: ignore[arg-type]
        logits = run_to_end(infer(ArraySource(image), model, options=opts)).logits
        assert logits is not None
        inner = np.abs(logits - ref)[:, 8:-8, 8:-8]
        assert inner.max() < 0.05


def test_onnx_backend_matches_pytorch() -> None:
    model = tiny()
    image = make_scene(80, 64, seed=3).image
    opts = InferOptions(device="cpu", backend="onnx", logits=True, tile=32)
    result = run_to_end(infer(ArraySource(image), model, options=opts))
    assert result.backend.startswith("onnx")
    assert result.logits is not None
    assert np.abs(result.logits - whole_image_logits(model, image)).max() <= 1e-3


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_user_onnx_file_with_sidecar(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = TinyNet(3, 2).eval()
    path = tmp_path / "elsewhere.onnx"
    torch.onnx.export(
        net,
        (torch.zeros(1, 3, 32, 32),),
        str(path),
        dynamo=False,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "n", 2: "h", 3: "w"}},
    )
    sidecar = {
        "classes": ["ground", "roof"],
        "in_channels": 3,
        "normalization": {"mean": [0.5] * 3, "std": [0.25] * 3, "scale": 255},
        "tile_size": 32,
        "output_stride": 2,
        "receptive_field": 6,
        "exact": True,
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    image = make_scene(50, 70, seed=1).image
    result = run_to_end(infer(ArraySource(image), path, options=InferOptions(logits=True)))
    assert result.mode == "exact" and result.backend.startswith("onnx")
    expected = whole_image_logits(tiny(classes=2), image)  # same seed, same weights
    assert result.logits is not None
    assert np.abs(result.logits - expected).max() <= 1e-3
    path.write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="onnxruntime cannot load"):
        run_to_end(infer(ArraySource(image), path))


def test_cli_writes_a_georeferenced_class_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from segcore.models import save_model

    model = build("small_unet")
    model_path = save_model(tmp_path / "m.safetensors", model.module, model.meta)
    image = write_geotiff(tmp_path / "scene.tif", 200, 150)
    out = tmp_path / "classes.tif"
    args = ["infer", "--model", str(model_path), str(image), "-o", str(out), "--tile", "96"]
    code = main([*args, "--roi", "10,20,150,100", "--confidence", str(tmp_path / "conf.tif")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Mpx/s" in err and "peak memory" in err and "exact mode" in err
    with rasterio.open(out) as ds:
        assert (ds.width, ds.height) == (150, 100) and ds.crs.to_epsg() == 32616
        assert (ds.read(1) < 4).all()
    assert (tmp_path / "conf.tif").is_file()
    with pytest.raises(SystemExit):  # argparse: usage line and status 2
        main([*args, "--roi", "1,2,3"])
    assert "expected 4 integers like x,y,w,h" in capsys.readouterr().err
