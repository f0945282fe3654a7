"""The one nodata rule: NaN/inf, the nodata value, alpha 0, a GDAL mask band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from segcore.engine.reader import Preparer
from segcore.engine.tiling import Tile
from segcore.io import open_image
from segcore.io.array import ArraySource
from segcore.io.validity import alpha_band, has_mask, invalid_pixels, read_invalid
from segcore.labels.box import Box
from segcore.models.meta import Normalization


def test_the_rule_on_a_tiny_array() -> None:
    pixels = np.array(
        [[[1.0, 2.0], [np.nan, 2.0], [np.inf, 1.0]], [[0.0, 0.0], [0.0, 3.0], [4.0, 5.0]]]
    )
    expected = [[False, True, True], [True, False, False]]
    assert invalid_pixels(pixels, nodata=0.0).tolist() == expected  # type: ignore[union-attr]
    assert invalid_pixels(np.ones((2, 2, 1)), nodata=None) is None
    rgba = np.full((1, 3, 4), 200, np.uint8)
    rgba[0, 1, 3] = 0
    assert invalid_pixels(rgba, nodata=None, alpha=3).tolist() == [[False, True, False]]  # type: ignore[union-attr]
    mask = np.array([[True, False, True]])
    assert invalid_pixels(rgba, nodata=None, valid_mask=mask).tolist() == [[False, True, False]]  # type: ignore[union-attr]


def _geotiff(path: Path, data: np.ndarray, **extra: object) -> None:
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": str(data.dtype),
        "crs": "EPSG:32616",
        "transform": from_origin(500000, 4000000, 1, 1),
        **extra,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)


def test_mask_band_and_alpha_are_read(tmp_path: Path) -> None:
    data = np.full((1, 8, 8), 7, np.uint16)
    masked = tmp_path / "masked.tif"
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        _geotiff(masked, data)
        with rasterio.open(masked, "r+") as ds:
            mask = np.full((8, 8), 255, np.uint8)
            mask[:, :3] = 0
            ds.write_mask(mask)
    source = open_image(masked)
    assert has_mask(source)
    bad = read_invalid(source, source.read_region(0, 0, 0, 8, 8), 0, 0, 0)
    assert bad is not None and bad[:, :3].all() and not bad[:, 3:].any()
    rgba = np.full((4, 8, 8), 100, np.uint8)
    rgba[3, 4:] = 0
    alpha = tmp_path / "alpha.tif"
    _geotiff(alpha, rgba, photometric="RGB", alpha="YES")
    source = open_image(alpha)
    assert alpha_band(source) == 3
    bad = read_invalid(source, source.read_region(0, 0, 0, 8, 8), 0, 0, 0)
    assert bad is not None and bad[4:].all() and not bad[:4].any()


def test_engine_and_training_share_the_rule() -> None:
    from segcore.training.data import data_from_arrays
    from segcore.training.dataset import read_tile

    image = np.full((8, 8, 2), 5.0, np.float32)
    image[1, 2] = np.nan
    image[3, 4] = -9999.0
    source = ArraySource(image, nodata=-9999.0)
    norm = Normalization((0.0, 0.0), (1.0, 1.0), 1.0)
    prepared = Preparer(source, norm=norm)(Tile(0, 0, Box(0, 0, 8, 8), Box(0, 0, 8, 8)))
    data = data_from_arrays([image], [np.zeros((8, 8), np.uint8)], nodata=-9999.0)
    pixels, labels, _, invalid = read_tile(
        data, 0, Box(0, 0, 8, 8), corrected_weight=1.0, fill=(5.0, 5.0)
    )
    assert prepared.invalid is not None and invalid is not None
    np.testing.assert_array_equal(prepared.invalid, invalid)
    assert invalid.sum() == 2 and (labels[invalid] == 255).all() and np.isfinite(pixels).all()
