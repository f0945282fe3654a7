"""Output files: georeferenced GeoTIFF, BigTIFF, zarr, PNG; score maps; payloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import tifffile
import zarr
from engine_helpers import Loaded, tiny

from segcore.engine import InferOptions, TilePatch, infer
from segcore.errors import InferenceError
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.synthetic import make_scene, write_geotiff

OPTS = InferOptions(device="cpu", backend="torch", tile=64)


def _in_memory(model: Loaded, image: np.ndarray, **kw: object) -> np.ndarray:
    opts = InferOptions(device="cpu", backend="torch", tile=64, **kw)  # type: ignore[arg-type]
    labels = run_to_end(infer(ArraySource(image), model, options=opts)).labels
    assert labels is not None
    return labels


def test_geotiff_keeps_crs_and_transform_and_shifts_them_for_a_roi(tmp_path: Path) -> None:
    image_path = write_geotiff(tmp_path / "scene.tif", 300, 260)
    model = tiny()
    out = tmp_path / "classes.tif"
    roi = (40, 30, 200, 150)
    opts = InferOptions(device="cpu", backend="torch", roi=roi, tile=64)
    result = run_to_end(infer(image_path, model, out, options=opts))
    assert result.output == out and sorted(p.name for p in tmp_path.iterdir()) == [
        "classes.tif",
        "scene.tif",
    ]
    with rasterio.open(image_path) as src, rasterio.open(out) as ds:
        assert ds.crs == src.crs and (ds.width, ds.height) == (200, 150)
        assert ds.transform.c == src.transform.c + 40 * src.transform.a
        assert ds.transform.f == src.transform.f + 30 * src.transform.e
        assert ds.profile["compress"] == "deflate" and ds.nodata == 255
        assert ds.colormap(1)[0][:3] == model.meta.classes[0].color
        written = ds.read(1)
        pixels = np.moveaxis(src.read(), 0, -1)
    np.testing.assert_array_equal(written, _in_memory(model, pixels, roi=roi))


def test_plain_tiff_zarr_and_png_hold_the_same_class_map(tmp_path: Path) -> None:
    model = tiny()
    image = make_scene(300, 270, seed=4).image
    expected = _in_memory(model, image)
    for name in ("c.tif", "c.zarr", "c.png"):
        run_to_end(infer(ArraySource(image), model, tmp_path / name, options=OPTS))
    with tifffile.TiffFile(tmp_path / "c.tif") as tif:
        page = tif.pages[0]
        assert tif.is_bigtiff and page.is_tiled and page.compression == 8  # deflate
        np.testing.assert_array_equal(page.asarray(), expected)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "c.zarr"), mode="r")[:], expected)
    from PIL import Image

    with Image.open(tmp_path / "c.png") as png:
        assert png.mode == "P"
        np.testing.assert_array_equal(np.asarray(png), expected)


def test_confidence_and_entropy_maps(tmp_path: Path) -> None:
    model = tiny()
    image = make_scene(64, 80, seed=1).image
    conf_path = tmp_path / "conf.tif"
    opts = InferOptions(device="cpu", score="confidence", score_path=conf_path, tile=64)
    result = run_to_end(infer(ArraySource(image), model, tmp_path / "c.tif", options=opts))
    assert result.score_output == conf_path
    conf = tifffile.imread(conf_path)
    # the top class of 3 has probability >= 1/3
    assert conf.shape == (64, 80) and conf.min() >= 85
    opts = InferOptions(device="cpu", score="entropy", logits=True, tile=64)
    res = run_to_end(infer(ArraySource(image), model, options=opts))
    assert res.logits is not None and res.score is not None
    p = np.exp(res.logits - res.logits.max(0))
    p /= p.sum(0)
    entropy = -(p * np.log(p)).sum(0) / np.log(3)
    assert np.abs(res.score.astype(float) - np.rint(entropy * 255)).max() <= 1


def test_payloads_paint_the_whole_result() -> None:
    model = tiny()
    image = make_scene(100, 90, seed=6).image
    canvas = np.full((100, 90), 77, np.uint8)
    job = infer(ArraySource(image), model, options=OPTS)
    steps = 0
    while True:
        try:
            step = next(job)
        except StopIteration as stop:
            result = stop.value
            break
        steps += 1
        assert step.rate is not None and step.rate > 0
        for patch in step.payload:
            assert isinstance(patch, TilePatch)
            h, w = patch.labels.shape
            canvas[patch.y : patch.y + h, patch.x : patch.x + w] = patch.labels
    assert steps == result.tiles
    np.testing.assert_array_equal(canvas, result.labels)


@pytest.mark.parametrize("name", ["out.jpg", "out"])
def test_unknown_output_type_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InferenceError, match="use one of .tif"):
        infer(ArraySource(np.zeros((8, 8, 3), np.uint8)), tiny(), tmp_path / name)
