"""Band files stacked into one VRT: pixels, names, nodata per band, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from io_helpers import ramp, write_geotiff

from segcore.cli import main as cli_main
from segcore.io import open_image
from segcore.io.stack import StackError, stack_bands
from segcore.io.validity import has_mask


def _bands(folder: Path, count: int = 3, **options) -> tuple[list[Path], list[np.ndarray]]:
    """``count`` one-band uint16 GeoTIFFs (40 x 30, UTM 16N) named B1.TIF, B2.TIF, ..."""
    paths, pixels = [], []
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        band = ramp(30, 40, 1, "uint16") + np.uint16(1000 * i)
        paths.append(write_geotiff(folder / f"B{i + 1}.TIF", band, **options))
        pixels.append(band)
    return paths, pixels


def test_stacked_bands_read_as_one_image(tmp_path: Path) -> None:
    paths, pixels = _bands(tmp_path)
    out = stack_bands([paths[2], paths[0], paths[1]], tmp_path / "scene.vrt")
    assert out.stat().st_size < 10_000  # a small XML file: no pixel was copied
    src = open_image(out)
    assert (src.width, src.height, src.band_count) == (40, 30, 3)
    assert src.band_names == ("B3", "B1", "B2")
    assert src.metadata.format == "vrt" and src.metadata.crs == "EPSG:32616"
    assert src.metadata.transform == (0.5, 0.0, 500000.0, 0.0, -0.5, 4400000.0)
    expected = np.concatenate([pixels[2], pixels[0], pixels[1]], axis=-1)
    np.testing.assert_array_equal(src.read_region(0, 5, 4, 20, 10), expected[4:14, 5:25])


def test_paths_are_relative_so_the_folder_can_move(tmp_path: Path) -> None:
    paths, pixels = _bands(tmp_path / "scene", 2)
    stack_bands(paths, tmp_path / "scene" / "stack.vrt")
    text = (tmp_path / "scene" / "stack.vrt").read_text()
    assert 'relativeToVRT="1">B1.TIF<' in text
    moved = tmp_path / "moved"
    (tmp_path / "scene").rename(moved)
    src = open_image(moved / "stack.vrt")
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 40, 30)[..., 1], pixels[1][..., 0])


def test_same_nodata_everywhere_is_the_images_nodata(tmp_path: Path) -> None:
    paths, _ = _bands(tmp_path, 2, nodata=0)
    src = open_image(stack_bands(paths, tmp_path / "scene.vrt"))
    assert src.nodata == 0 and not has_mask(src)


def test_nodata_per_band_is_kept(tmp_path: Path) -> None:
    import rasterio

    a = ramp(30, 40, 1, "uint16")
    b = ramp(30, 40, 1, "uint16")
    a[0:10, :] = 0  # band A's nodata in the first rows
    b[0:5, :] = 9  # band B's nodata in the first five rows only
    pa = write_geotiff(tmp_path / "A.TIF", a, nodata=0)
    pb = write_geotiff(tmp_path / "B.TIF", b, nodata=9)
    out = stack_bands([pa, pb], tmp_path / "scene.vrt")
    with rasterio.open(out) as ds:
        assert ds.nodatavals == (0.0, 9.0)  # each band its own, in the VRT itself
    src = open_image(out)
    assert src.nodata is None and has_mask(src)
    valid = src.read_mask(0, 0, 0, 40, 30)  # type: ignore[attr-defined]
    # invalid only where both bands are their nodata: rows 0-4
    assert not valid[:5].any() and valid[5:].all()


def test_mixed_pixel_types_are_promoted(tmp_path: Path) -> None:
    small = write_geotiff(tmp_path / "u8.tif", ramp(30, 40, 1, "uint8"))
    wide = write_geotiff(tmp_path / "i16.tif", ramp(30, 40, 1, "int16"))
    src = open_image(stack_bands([small, wide], tmp_path / "scene.vrt"))
    assert src.dtype == np.int16
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 40, 30)[..., 0], ramp(30, 40, 1)[..., 0])


def test_multiband_files_keep_their_band_names(tmp_path: Path) -> None:
    import rasterio

    rgb = write_geotiff(tmp_path / "rgb.tif", ramp(30, 40, 3))
    with rasterio.open(rgb, "r+") as ds:
        ds.set_band_description(2, "green")
    nir = write_geotiff(tmp_path / "nir.tif", ramp(30, 40, 1))
    src = open_image(stack_bands([rgb, nir], tmp_path / "scene.vrt"))
    assert src.band_names == ("rgb 1", "green", "rgb 3", "nir")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"crs": "EPSG:32617"}, r"B3.TIF: CRS EPSG:32617 differs from B1.TIF's EPSG:32616"),
        ({"transform": Affine(1.0, 0, 500000, 0, -1.0, 4400000)}, r"pixel size 1 x 1 differs"),
        ({"transform": Affine(0.5, 0, 500100, 0, -0.5, 4400000)}, r"origin \(500100, 4400000\)"),
    ],
)
def test_mismatched_grids_are_refused(tmp_path: Path, change: dict, message: str) -> None:
    paths, _ = _bands(tmp_path, 2)
    odd = write_geotiff(tmp_path / "B3.TIF", ramp(30, 40, 1, "uint16"), **change)
    out = tmp_path / "scene.vrt"
    with pytest.raises(StackError, match=message):
        stack_bands([*paths, odd], out)
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))


def test_another_size_is_refused(tmp_path: Path) -> None:
    paths, _ = _bands(tmp_path, 1)
    odd = write_geotiff(tmp_path / "B9.TIF", ramp(31, 40, 1, "uint16"))
    with pytest.raises(StackError, match=r"size 40 x 31 differs from B1.TIF's 40 x 30"):
        stack_bands([paths[0], odd], tmp_path / "scene.vrt")


def test_never_writes_over_an_input(tmp_path: Path) -> None:
    paths, _ = _bands(tmp_path, 2)
    as_vrt = tmp_path / "B2.vrt"
    as_vrt.write_bytes(paths[1].read_bytes())  # a band file that happens to end in .vrt
    before = as_vrt.read_bytes()
    with pytest.raises(StackError, match="the output is one of the band files"):
        stack_bands([paths[0], as_vrt], as_vrt)
    assert as_vrt.read_bytes() == before
    with pytest.raises(StackError, match="must be a .vrt"):
        stack_bands(paths, paths[0])


def test_cli_writes_the_stack_and_refuses_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _ = _bands(tmp_path, 2)
    out = tmp_path / "scene.vrt"
    assert cli_main(["stack", *map(str, paths), "-o", str(out)]) == 0
    assert open_image(out).band_count == 2
    odd = write_geotiff(tmp_path / "odd.tif", ramp(31, 40, 1, "uint16"))
    assert cli_main(["stack", str(paths[0]), str(odd), "-o", str(tmp_path / "x.vrt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tessera stack: ") and "odd.tif" in err
    assert cli_main(["stack", str(paths[0]), str(tmp_path / "gone.tif"), "-o", str(out)]) == 2
    assert "gone.tif: no such file" in capsys.readouterr().err
    assert open_image(out).band_count == 2  # the earlier output is untouched
