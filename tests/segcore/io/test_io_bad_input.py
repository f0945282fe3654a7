"""Bad input of every kind ends in a SourceError naming the file and the reason."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
import zarr
from io_helpers import ramp, write_dicom, write_geotiff
from PIL import Image

from segcore.errors import SourceError
from segcore.io import ImageSource, open_image


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nothere.png: no such file"):
        open_image(tmp_path / "nothere.png")


@pytest.mark.parametrize("name", ["empty.png", "empty.tif", "empty.dcm", "empty"])
def test_zero_byte_files(tmp_path: Path, name: str) -> None:
    (tmp_path / name).touch()
    with pytest.raises(SourceError, match=f"{name}: file is empty"):
        open_image(tmp_path / name)


def test_plain_directory(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(SourceError, match="folder: is a directory"):
        open_image(tmp_path / "folder")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"just some text\n" * 10),
        ("fake.png", b"not really a png, but named like one" * 3),
        ("noise.tif", bytes(range(256)) * 4),
        ("tiny.jpg", b"\x00"),
    ],
)
def test_non_image_files(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=f"{name}: not a recognised image format"):
        open_image(tmp_path / name)


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(ramp(200, 200, 3)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="cut.jpg: image data is truncated or corrupt"):
        open_image(path)


def test_truncated_geotiff(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "cut.tif", ramp(300, 300, 1), compress="deflate", tiled=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="cut.tif"):
        src = open_image(path)
        src.read_region(0, 0, 0, 300, 300)


def test_jpeg_named_png(tmp_path: Path) -> None:
    path = tmp_path / "really_a.png"
    Image.fromarray(ramp(8, 8, 3)).save(path, format="JPEG")
    assert open_image(path).metadata.format == "jpeg"


def _one_pixel_files(tmp_path: Path) -> dict[str, Path]:
    one = np.array([[200]], np.uint8)
    files = {}
    for fmt in ("png", "jpg", "bmp"):
        files[fmt] = tmp_path / f"one.{fmt}"
        Image.fromarray(one).save(files[fmt])
    files["tif"] = tmp_path / "one.tif"
    tifffile.imwrite(files["tif"], one)
    files["geotiff"] = write_geotiff(tmp_path / "one_geo.tif", one[..., None])
    files["dicom"] = write_dicom(tmp_path / "one.dcm", one.astype(np.uint16))
    files["nifti"] = tmp_path / "one.nii"
    nib.save(nib.Nifti1Image(one[..., None], np.eye(4)), files["nifti"])
    files["zarr"] = tmp_path / "one.zarr"
    zarr.create_array(files["zarr"], data=one)
    return files


def test_one_pixel_images_of_every_kind(tmp_path: Path) -> None:
    for kind, path in _one_pixel_files(tmp_path).items():
        src = open_image(path)
        assert isinstance(src, ImageSource), kind
        assert (src.width, src.height, src.band_count) == (1, 1, 1), kind
        value = int(src.read_region(0, 0, 0, 1, 1)[0, 0, 0])
        assert abs(value - 200) <= 2, kind  # JPEG may be off by a little
        assert src.thumbnail(32).shape == (1, 1, 1), kind
        padded = src.read_region(0, -1, -1, 2, 2)[..., 0]
        assert padded[0].tolist() == [0, 0] and padded[1, 0] == 0, kind


def test_bad_requests_are_source_errors(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.fromarray(ramp(10, 10, 3)).save(path)
    src = open_image(path)
    with pytest.raises(SourceError, match="small.png: a 100000x100000 window would need"):
        src.read_region(0, 0, 0, 100_000, 100_000)
    with pytest.raises(SourceError, match="small.png: level 1 out of range 0..0"):
        src.read_region(1, 0, 0, 1, 1)
    with pytest.raises(SourceError, match="small.png: empty window"):
        src.read_region(0, 0, 0, 0, 5)
    with pytest.raises(SourceError, match="small.png: plane z=1 out of range"):
        src.read_region(0, 0, 0, 1, 1, z=1)
    assert src.read_region(0, 50, 50, 2, 2).tolist() == [[[0, 0, 0]] * 2] * 2
