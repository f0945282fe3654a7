"""Bad input: clear errors or clean stops, never a crash or a half-written file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import build, tiny

from segcore.cli import main
from segcore.engine import InferOptions, infer
from segcore.errors import InferenceError, ModelError
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.synthetic import make_scene

OPTS = InferOptions(device="cpu", backend="torch", tile=32)


def test_band_mismatch_names_both_counts_and_how_to_choose_bands() -> None:
    image = make_scene(40, 40, seed=1, bands=5).image
    with pytest.raises(ModelError) as err:
        infer(ArraySource(image), tiny(), options=OPTS)
    message = str(err.value)
    assert "expects 3 input band(s)" in message and "has 5" in message
    assert "--bands 1, 2, 3" not in message and "--bands 1,2,3" in message


def test_bands_option_picks_the_bands_the_model_needs() -> None:
    five = make_scene(40, 40, seed=1, bands=5).image
    picked = five[..., [3, 0, 2]]
    opts = InferOptions(device="cpu", backend="torch", tile=32, bands=(4, 1, 3))
    got = run_to_end(infer(ArraySource(five), tiny(), options=opts)).labels
    want = run_to_end(infer(ArraySource(picked), tiny(), options=OPTS)).labels
    assert got is not None and want is not None
    np.testing.assert_array_equal(got, want)
    with pytest.raises(InferenceError, match="outside 1..5"):
        infer(ArraySource(five), tiny(), options=InferOptions(bands=(1, 2, 9)))


def test_corrupt_and_truncated_model_files(tmp_path: Path) -> None:
    from segcore.models import save_model

    model = build("small_unet")
    good = save_model(tmp_path / "m.safetensors", model.module, model.meta)
    data = good.read_bytes()
    image = ArraySource(make_scene(32, 32).image)
    for name, content in [
        ("short.safetensors", data[: len(data) // 2]),
        ("junk.safetensors", b"x" * 100),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ModelError, match=name):
            infer(image, path, options=OPTS)
    with pytest.raises(ModelError, match="no such model file"):
        infer(image, tmp_path / "missing.safetensors")


def test_image_smaller_than_a_tile_runs_as_one_mirrored_tile() -> None:
    image = make_scene(5, 3, seed=1).image
    result = run_to_end(infer(ArraySource(image), tiny(), options=OPTS))
    assert result.tiles == 1 and result.labels is not None and result.labels.shape == (5, 3)
    assert (result.labels < 3).all()


def test_nan_and_inf_pixels_come_out_unlabelled_and_their_neighbours_still_run() -> None:
    image = make_scene(48, 48, seed=1).image.astype(np.float32)
    image[10, 12, 0] = np.nan
    image[30, 40] = np.inf
    result = run_to_end(infer(ArraySource(image), tiny(), options=OPTS))
    labels = result.labels
    assert labels is not None
    assert labels[10, 12] == 255 and labels[30, 40] == 255
    assert (labels < 255).sum() == 48 * 48 - 2


def test_nodata_tiles_are_skipped() -> None:
    image = make_scene(96, 96, seed=1).image
    image[:, :60] = 0  # the left part is nodata in every band
    opts = InferOptions(device="cpu", backend="torch", tile=32, halo=4)
    result = run_to_end(infer(ArraySource(image, nodata=0), tiny(), options=opts))
    assert result.skipped > 0
    assert result.labels is not None
    assert (result.labels[:, :60] == 255).all() and (result.labels[:, 60:] < 255).all()


def test_unwritable_output_is_an_error_up_front(tmp_path: Path) -> None:
    image = ArraySource(make_scene(32, 32).image)
    with pytest.raises(InferenceError, match="does not exist"):
        infer(image, tiny(), tmp_path / "missing" / "out.tif", options=OPTS)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # running as root: a file in the way instead
            locked.chmod(0o700)
            (tmp_path / "blocker").write_text("")
            target = tmp_path / "blocker" / "out.tif"
        else:
            target = locked / "out.tif"
        with pytest.raises(InferenceError):
            run_to_end(infer(image, tiny(), target, options=OPTS))
    finally:
        locked.chmod(0o700)


def test_exact_mode_refused_for_a_model_with_global_context() -> None:
    image = ArraySource(make_scene(32, 32).image)
    with pytest.raises(InferenceError, match="--mode blend"):
        infer(image, tiny(rf=None), options=InferOptions(mode="exact"))


def test_cancel_mid_run_leaves_no_file_and_no_threads(tmp_path: Path) -> None:
    image = make_scene(256, 256, seed=1).image
    out = tmp_path / "out.tif"
    job = infer(ArraySource(image), tiny(), out, options=OPTS)
    for _ in range(5):
        next(job)
    assert any(p.name.endswith(".part.tif") for p in tmp_path.iterdir())
    job.close()
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("tessera-")]


def test_failure_while_reading_removes_the_partial_file(tmp_path: Path) -> None:
    class Broken(ArraySource):
        def read_region(
            self, level: int, x: int, y: int, width: int, height: int, *, z: int = 0
        ) -> np.ndarray:
            if y > 100:
                raise OSError("disk on fire")
            return super().read_region(level, x, y, width, height, z=z)

    out = tmp_path / "out.zarr"
    with pytest.raises(InferenceError, match="disk on fire"):
        run_to_end(infer(Broken(make_scene(200, 64).image), tiny(), out, options=OPTS))
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from segcore.models import save_model

    model = build("small_unet")
    model_path = save_model(tmp_path / "m.safetensors", model.module, model.meta)
    image = tmp_path / "gray.tif"
    import tifffile

    tifffile.imwrite(image, make_scene(40, 40, bands=1).image[..., 0])
    code = main(["infer", "--model", str(model_path), str(image), "-o", str(tmp_path / "o.tif")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "expects 3 input band(s)" in err and "has only 1" in err
    assert "--bands" not in err  # no band choice can give a 1-band image 3 bands
