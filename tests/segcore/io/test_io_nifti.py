"""NIfTI through nibabel: planes along each axis, 4-D flattening, scaling, limits."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from segcore.errors import SourceError
from segcore.io import open_image


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_t1_planes_along_each_axis(sample, axis: int) -> None:  # type: ignore[no-untyped-def]
    path = sample("nifti_t1")
    volume = np.asarray(nib.load(path).dataobj)  # 197 x 233 x 189, RAS
    src = open_image(path, axis=axis)
    rest = [n for a, n in enumerate(volume.shape) if a != axis]
    assert (src.width, src.height, src.depth) == (rest[0], rest[1], volume.shape[axis])
    assert src.metadata.orientation == "RAS"
    assert src.metadata.pixel_spacing == (1.0, 1.0, 1.0)
    z = volume.shape[axis] // 2
    plane = np.take(volume, z, axis=axis)
    # columns run along the first remaining axis, rows run up the second
    np.testing.assert_array_equal(
        src.read_region(0, 0, 0, src.width, src.height, z=z)[..., 0], plane.T[::-1]
    )


def test_tiny_4d_volume_flattens_time_into_planes_and_scales(tmp_path: Path) -> None:
    data = np.arange(2 * 3 * 4 * 2, dtype=np.int16).reshape(2, 3, 4, 2)  # x y z t
    image = nib.Nifti1Image(data, np.diag([0.5, 0.75, 2.0, 1.0]))
    image.header.set_slope_inter(2.0, 1.0)
    path = tmp_path / "tiny.nii"
    nib.save(image, path)
    src = open_image(path)  # axial planes of a 2 x 3 x 4 volume, 2 time points
    assert (src.width, src.height, src.depth, src.dtype) == (2, 3, 8, np.float32)
    assert src.metadata.pixel_spacing == (0.5, 0.75, 2.0)
    # plane z=5 is slice 1 of time point 1: image[row, col] = 2 * data[col, 2 - row, 1, 1] + 1
    got = src.read_region(0, 0, 0, 2, 3, z=5)[..., 0]
    expected = np.array([[2 * data[c, 2 - r, 1, 1] + 1 for c in range(2)] for r in range(3)])
    np.testing.assert_array_equal(got, expected)


def test_complex_nifti_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "complex.nii"
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.complex64), np.eye(4)), path)
    with pytest.raises(SourceError, match="complex.nii: complex pixels"):
        open_image(path)


def test_header_claiming_enormous_planes_is_refused(tmp_path: Path) -> None:
    image = nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), np.eye(4))
    image.header.set_data_shape((32000, 32000, 10))
    path = tmp_path / "bomb.nii.gz"
    with gzip.open(path, "wb") as f:
        f.write(image.header.binaryblock + b"\x00" * 4 + b"\x00" * 64)
    with pytest.raises(SourceError, match="bomb.nii.gz: one 32000x32000 plane would need 3.8 GiB"):
        open_image(path)


def test_truncated_gzip_nifti_is_a_source_error(sample, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cut.nii.gz"
    path.write_bytes(sample("nifti_t1").read_bytes()[:20000])
    src = open_image(path)  # the header is intact ...
    with pytest.raises(SourceError, match="cut.nii.gz: could not read window"):
        src.read_region(0, 0, 0, src.width, src.height, z=150)  # ... the voxels are not


def test_a_gzip_volume_is_read_through_one_open_file_closed_with_the_source(
    tmp_path: Path,
) -> None:
    import psutil

    data = np.arange(6 * 5 * 9, dtype=np.int16).reshape(6, 5, 9)
    path = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)

    def held() -> int:
        return sum(Path(f.path) == path for f in psutil.Process().open_files())

    src = open_image(path)
    for z in range(9):  # every plane, in order: one gzip stream, not one per plane
        np.testing.assert_array_equal(src.read_region(0, 0, 0, 6, 5, z=z)[..., 0],
                                      data[:, :, z].T[::-1])  # fmt: skip
    assert held() == 1
    src.close()
    assert held() == 0
