"""TIFF / BigTIFF / OME-TIFF through tifffile's zarr store, without GDAL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from io_helpers import ramp, tiff_claiming

from segcore.errors import SourceError
from segcore.io import open_image
from segcore.io.bigtiff import TiffSource
from segcore.io.pyramid import LazyPyramid


def test_nuclei_tiff_matches_tifffile(sample) -> None:  # type: ignore[no-untyped-def]
    path = sample("nuclei_image")
    src = open_image(path)
    assert isinstance(src, TiffSource)
    expected = tifffile.imread(path)
    assert (src.width, src.height, src.dtype) == (512, 512, np.uint16)
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 512, 512)[..., 0], expected)
    np.testing.assert_array_equal(src.read_region(0, 500, 3, 20, 4)[:, :12, 0], expected[3:7, 500:])
    assert (src.read_region(0, 500, 3, 20, 4)[:, 12:] == 0).all()


def test_tiled_bigtiff_without_pyramid_gets_lazy_levels(tmp_path: Path) -> None:
    pixels = ramp(1100, 1300, 3)
    path = tmp_path / "tiled.btf"
    tifffile.imwrite(path, pixels, bigtiff=True, tile=(256, 256), photometric="rgb")
    src = open_image(path)
    assert isinstance(src, LazyPyramid)
    assert src.band_names == ("red", "green", "blue")
    sizes = [src.level_size(i) for i in range(src.level_count)]
    assert sizes == [(1300, 1100), (650, 550), (325, 275)]
    np.testing.assert_array_equal(src.read_region(0, 250, 250, 20, 20), pixels[250:270, 250:270])
    block = pixels[100:104, 200:206].astype(float)
    expected = np.rint(block.reshape(2, 2, 3, 2, 3).mean(axis=(1, 3)))
    np.testing.assert_array_equal(src.read_region(1, 100, 50, 3, 2), expected)


def test_subifd_pyramid_is_used_as_levels(tmp_path: Path) -> None:
    pixels = ramp(2048, 1536, 1, "uint16")[..., 0]
    path = tmp_path / "pyramid.ome.tif"
    with tifffile.TiffWriter(path, bigtiff=True, ome=True) as tw:
        tw.write(pixels, subifds=2, tile=(256, 256), compression="zlib")
        tw.write(pixels[::2, ::2], subfiletype=1, tile=(256, 256), compression="zlib")
        tw.write(pixels[::4, ::4], subfiletype=1, tile=(256, 256), compression="zlib")
    src = open_image(path)
    assert isinstance(src, TiffSource)  # openslide does not see SubIFD pyramids
    assert src.metadata.format == "ome-tiff"
    assert src.level_downsamples == (1.0, 2.0, 4.0)
    np.testing.assert_array_equal(src.read_region(2, 0, 0, 384, 512)[..., 0], pixels[::4, ::4])


def test_ome_planes_and_channels(tmp_path: Path) -> None:
    volume = ramp(3 * 2 * 10, 12, 1, "uint16").reshape(3, 2, 10, 12)  # Z C Y X
    path = tmp_path / "stack.ome.tif"
    tifffile.imwrite(
        path, volume, metadata={"axes": "ZCYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.25}
    )
    src = open_image(path)
    assert (src.depth, src.band_count, src.width, src.height) == (3, 2, 12, 10)
    assert src.metadata.mpp == (0.5, 0.25)
    np.testing.assert_array_equal(
        src.read_region(0, 0, 0, 12, 10, z=2), np.moveaxis(volume[2], 0, -1)
    )
    with pytest.raises(SourceError, match="plane z=3 out of range"):
        src.read_region(0, 0, 0, 1, 1, z=3)


def test_resolution_in_centimetres_gives_mpp(tmp_path: Path) -> None:
    path = tmp_path / "res.tif"
    tifffile.imwrite(
        path, ramp(8, 8, 1)[..., 0], resolution=(40000, 40000), resolutionunit="CENTIMETER"
    )
    assert open_image(path).metadata.mpp == pytest.approx((0.25, 0.25))


def test_tiff_named_dat_is_read_by_content(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    tifffile.imwrite(path, ramp(5, 6, 1)[..., 0])
    assert open_image(path).metadata.format == "tiff"


def test_one_pixel_tiff(tmp_path: Path) -> None:
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, np.array([[42]], np.uint16))
    src = open_image(path)
    assert src.read_region(0, 0, 0, 1, 1).tolist() == [[[42]]]
    assert src.thumbnail().tolist() == [[[42]]]


@pytest.mark.parametrize("dtype", [np.complex64, np.bool_])
def test_complex_and_bool_are_refused(tmp_path: Path, dtype: type) -> None:
    path = tmp_path / "odd.tif"
    tifffile.imwrite(path, np.zeros((4, 4), dtype))
    with pytest.raises(SourceError, match="odd.tif: .*(complex|bool).*not supported"):
        open_image(path)


def test_header_claiming_one_enormous_strip_is_refused(tmp_path: Path) -> None:
    path = tiff_claiming(tmp_path / "bomb.tif", 100_000, 100_000, rows_per_strip=100_000)
    with pytest.raises(SourceError, match="bomb.tif: one strip or tile .* 9.3 GiB"):
        open_image(path)


def test_header_claiming_huge_size_in_small_strips_reads_windows(tmp_path: Path) -> None:
    # 100k x 100k in 16-row strips is windowable: reading a window decodes one
    # strip; the bogus strip data then fails with a clean error, not a crash.
    path = tiff_claiming(tmp_path / "claims.tif", 100_000, 100_000, rows_per_strip=16)
    src = open_image(path)
    assert (src.width, src.height) == (100_000, 100_000)
    with pytest.raises(SourceError, match="claims.tif: could not read window"):
        src.read_region(0, 0, 0, 64, 64)


def test_truncated_tiff_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, ramp(64, 64, 1)[..., 0], compression="zlib")
    data = path.read_bytes()
    path.write_bytes(data[:12])
    with pytest.raises(SourceError, match="cut.tif"):
        open_image(path)


def test_rgba_16bit_and_planar_tiffs(tmp_path: Path) -> None:
    rgba = ramp(9, 11, 4, "uint16")
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    src = open_image(tmp_path / "rgba.tif")
    assert src.band_names == ("red", "green", "blue", "alpha") and src.dtype == np.uint16
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 11, 9), rgba)
    planar = np.moveaxis(ramp(9, 11, 3), -1, 0)  # stored band by band (S, Y, X)
    tifffile.imwrite(tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    src = open_image(tmp_path / "planar.tif")
    np.testing.assert_array_equal(src.read_region(0, 2, 3, 5, 4), ramp(9, 11, 3)[3:7, 2:7])
