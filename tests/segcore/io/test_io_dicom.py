"""DICOM through pydicom: real single- and multi-frame files, rescale, limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_helpers import write_dicom
from pydicom.pixels import pixel_array

from segcore.errors import SourceError
from segcore.io import open_image
from segcore.io.dicom import DicomSource


def test_radiograph_with_tiff_preamble_is_read_as_dicom(sample) -> None:  # type: ignore[no-untyped-def]
    path = sample("dicom_radiograph")
    src = open_image(path)
    assert src.metadata.format == "dicom"
    assert src.metadata.modality == "CR"
    assert src.metadata.window == (15000.0, 30000.0)
    assert src.metadata.extra["photometric"] == "MONOCHROME1"
    assert (src.width, src.height, src.dtype) == (1841, 1955, np.uint16)
    expected = pixel_array(str(path))
    np.testing.assert_array_equal(
        src.read_region(0, 900, 1000, 30, 20)[..., 0], expected[1000:1020, 900:930]
    )


def test_mr_rescale_slope_gives_float_values(sample) -> None:  # type: ignore[no-untyped-def]
    path = sample("dicom_mr")
    src = open_image(path)
    assert src.dtype == np.float32
    assert src.metadata.pixel_spacing == pytest.approx((0.195313, 0.195313))
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array[500:510, 400:420] * float(ds.RescaleSlope) + float(
        ds.RescaleIntercept
    )
    np.testing.assert_allclose(src.read_region(0, 400, 500, 20, 10)[..., 0], expected, rtol=1e-6)


def test_compressed_multiframe_frames_are_planes(sample) -> None:  # type: ignore[no-untyped-def]
    path = sample("dicom_jpeg_multiframe")
    src = open_image(path)
    assert isinstance(src, DicomSource)
    assert (src.depth, src.width, src.height, src.band_count) == (120, 640, 480, 3)
    assert src.band_names == ("red", "green", "blue")
    assert src.metadata.modality == "US"
    frame = pixel_array(str(path), index=77)
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 640, 480, z=77), frame)
    assert not np.array_equal(src.read_region(0, 0, 0, 640, 480, z=0), frame)


def test_enhanced_ct_uses_functional_groups(sample) -> None:  # type: ignore[no-untyped-def]
    path = sample("dicom_ct_multiframe")
    src = open_image(path)
    meta = src.metadata
    assert (src.depth, meta.modality, meta.window) == (2, "CT", (49.0, 102.0))
    assert meta.pixel_spacing == pytest.approx((0.388672, 0.388672, 10.0))
    assert src.dtype == np.int32
    stored = pixel_array(str(path), index=1).astype(np.int32)
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 512, 512, z=1)[..., 0], stored - 1024)


def test_one_pixel_dicom(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "one.dcm", np.array([[513]], np.uint16))
    src = open_image(path)
    assert src.read_region(0, 0, 0, 1, 1).tolist() == [[[513]]]


def test_dicom_without_pixels_is_refused(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "report.dcm", None)
    with pytest.raises(SourceError, match="report.dcm: DICOM file has no pixel data"):
        open_image(path)


def test_dicom_claiming_enormous_frames_is_refused(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "bomb.dcm", np.zeros((2, 2), np.uint16))
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = 60000, 60000
    ds.save_as(path)
    with pytest.raises(SourceError, match="bomb.dcm: one 60000x60000 frame would need 6.7 GiB"):
        open_image(path)


def test_truncated_dicom_is_a_source_error(sample, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cut.dcm"
    path.write_bytes(sample("dicom_mr").read_bytes()[:5000])
    with pytest.raises(SourceError, match="cut.dcm"):
        src = open_image(path)
        src.read_region(0, 0, 0, 64, 64)
