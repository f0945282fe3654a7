"""GDAL rasters through rasterio: real GeoTIFFs, COG overviews, VRT, JPEG2000."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from io_helpers import ramp, write_geotiff
from rasterio.windows import Window

from segcore.errors import SourceError
from segcore.io import open_image
from segcore.io.raster import RasterSource


def test_spacenet_geotiff_crs_transform_and_pixels(sample) -> None:  # type: ignore[no-untyped-def]
    path = sample("spacenet_image")
    src = open_image(path)
    assert isinstance(src, RasterSource)
    assert (src.width, src.height, src.band_count, src.dtype) == (900, 900, 1, np.uint16)
    assert src.metadata.crs == "EPSG:32616"
    assert src.metadata.transform == (0.5, 0.0, 733601.0, 0.0, -0.5, 3725139.0)
    with rasterio.open(path) as ds:
        expected = ds.read(1, window=Window(100, 200, 64, 32))
    np.testing.assert_array_equal(src.read_region(0, 100, 200, 64, 32)[..., 0], expected)


def test_landsat_nodata_fills_outside_and_is_reported(sample) -> None:  # type: ignore[no-untyped-def]
    src = open_image(sample("landsat_nodata"))
    assert src.nodata == -9999.0
    assert src.metadata.crs == "EPSG:4326"
    assert src.dtype == np.int16
    window = src.read_region(0, src.width - 2, src.height - 2, 4, 4)[..., 0]
    assert (window[2:, :] == -9999).all() and (window[:, 2:] == -9999).all()
    # lazy levels: the image has no overviews and is taller than 1024
    assert src.level_downsamples[:3] == (1.0, 2.0, 4.0)
    assert src.level_size(1) == (1423, 2314)


def test_multiband_int16_with_band_descriptions(tmp_path: Path) -> None:
    pixels = ramp(40, 30, 6, "int16")
    path = write_geotiff(tmp_path / "six.tif", pixels)
    with rasterio.open(path, "r+") as ds:
        for i in range(6):
            ds.set_band_description(i + 1, f"B{i + 1}")
    src = open_image(path)
    assert src.band_count == 6
    assert src.band_names == ("B1", "B2", "B3", "B4", "B5", "B6")
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 30, 40), pixels)


def test_cog_overviews_are_levels_with_averaged_pixels(tmp_path: Path) -> None:
    pixels = ramp(768, 1024, 3, "uint16")
    path = write_geotiff(
        tmp_path / "cog.tif",
        pixels,
        driver="COG",
        compress="deflate",
        overview_resampling="average",
        blocksize=256,
    )
    src = open_image(path)
    sizes = [src.level_size(i) for i in range(src.level_count)]
    assert sizes[:3] == [(1024, 768), (512, 384), (256, 192)]
    assert src.level_downsamples[1] == pytest.approx(2.0)
    got = src.read_region(1, 10, 20, 4, 3).astype(float)
    block = pixels[40:46, 20:28].astype(float)
    expected = block.reshape(3, 2, 4, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(got, expected, atol=1)


def test_vrt_recognised_by_content(tmp_path: Path) -> None:
    pixels = ramp(50, 60, 1)
    tif = write_geotiff(tmp_path / "base.tif", pixels)
    vrt = tmp_path / "mosaic.xml"  # extension says nothing
    vrt.write_text(
        f"""<VRTDataset rasterXSize="20" rasterYSize="10">
  <VRTRasterBand dataType="Byte" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="0">{tif}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="5" yOff="7" xSize="20" ySize="10"/>
      <DstRect xOff="0" yOff="0" xSize="20" ySize="10"/>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>"""
    )
    src = open_image(vrt)
    assert src.metadata.format == "vrt"
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 20, 10), pixels[7:17, 5:25])


def test_lossless_jpeg2000(tmp_path: Path) -> None:
    pixels = ramp(64, 80, 3)
    path = write_geotiff(
        tmp_path / "image.jp2", pixels, driver="JP2OpenJPEG", quality=100, reversible=True
    )
    src = open_image(path)
    assert src.metadata.format == "jpeg2000"
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 80, 64), pixels)


def test_complex_pixels_are_refused(tmp_path: Path) -> None:
    pixels = np.ones((4, 4, 1), np.complex64)
    path = write_geotiff(tmp_path / "complex.tif", pixels)
    with pytest.raises(SourceError, match="complex.tif: complex pixels"):
        open_image(path)


def test_huge_tiles_are_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "tiles.tif"
    profile = {"driver": "GTiff", "width": 16384, "height": 16384, "count": 2, "dtype": "uint8"}
    profile |= {"crs": "EPSG:4326", "transform": Affine(1e-4, 0, 0, 0, -1e-4, 0)}
    profile |= {"tiled": True, "blockxsize": 16384, "blockysize": 16384}
    with rasterio.open(path, "w", sparse_ok=True, **profile):
        pass  # nothing written: the tiles stay sparse
    with pytest.raises(SourceError, match="tiles.tif: one 16384x16384 storage block"):
        open_image(path)


def test_parallel_reads_match_serial_reads(sample) -> None:  # type: ignore[no-untyped-def]
    src = open_image(sample("spacenet_image"))
    rng = np.random.default_rng(0)
    windows = [tuple(int(v) for v in rng.integers(-50, 850, 2)) for _ in range(24)]
    serial = [src.read_region(0, x, y, 100, 100) for x, y in windows]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda w: src.read_region(0, w[0], w[1], 100, 100), windows))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
    src.close()
    with pytest.raises(SourceError, match="sample_geotiff.tif: the image was closed"):
        src.read_region(0, 0, 0, 10, 10)


def test_nodata_the_pixel_type_cannot_hold_is_ignored(tmp_path: Path) -> None:
    import tifffile

    path = tmp_path / "odd_nodata.tif"  # rasterio refuses to write this; GDAL reads it
    tifffile.imwrite(path, ramp(4, 4, 1)[..., 0], extratags=[(42113, "s", 0, "-9999", True)])
    src = open_image(path)
    assert src.nodata is None
    assert src.read_region(0, 2, 2, 4, 4)[3, 3, 0] == 0
