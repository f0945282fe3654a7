"""Small file writers shared by the reader tests."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np


def ramp(h: int, w: int, bands: int, dtype: str = "uint8") -> np.ndarray:
    """Deterministic, non-repeating test pixels."""
    top = np.iinfo(dtype).max if np.dtype(dtype).kind in "ui" else 1000
    values = np.arange(h * w * bands, dtype=np.int64) * 7919 % (int(top) + 1)
    return values.reshape(h, w, bands).astype(dtype)


def write_geotiff(path: Path, pixels: np.ndarray, **options: Any) -> Path:
    """A GeoTIFF of (h, w, bands) pixels in UTM 16N at 0.5 m, plus rasterio options."""
    import rasterio
    from affine import Affine

    h, w, bands = pixels.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": bands,
        "dtype": pixels.dtype,
        "crs": "EPSG:32616",
        "transform": Affine(0.5, 0, 500000, 0, -0.5, 4400000),
    }
    profile.update(options)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.moveaxis(pixels, -1, 0))
    return path


def tiff_claiming(path: Path, width: int, height: int, *, rows_per_strip: int) -> Path:
    """A little-endian TIFF whose header claims width x height 8-bit gray pixels
    in deflate strips of ``rows_per_strip`` rows, with almost no data."""
    strips = -(-height // rows_per_strip)
    entries = [
        (256, 4, 1, width),  # ImageWidth, LONG
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample, SHORT
        (259, 3, 1, 8),  # Compression: deflate
        (262, 3, 1, 1),  # Photometric: min-is-black
        (273, 4, strips, 0),  # StripOffsets (patched below)
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, rows_per_strip),  # RowsPerStrip
        (279, 4, strips, 0),  # StripByteCounts
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    arrays_at = ifd_offset + ifd_size
    data_at = arrays_at + (8 * strips if strips > 1 else 0)
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset))
    out += struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 273:
            value = data_at if strips == 1 else arrays_at
        if tag == 279:
            value = 16 if strips == 1 else arrays_at + 4 * strips
        fmt = "<HHI" + ("I" if kind == 4 else "HH")
        packed = (value,) if kind == 4 else (value, 0)
        out += struct.pack(fmt, tag, kind, count, *packed)
    out += struct.pack("<I", 0)
    if strips > 1:
        out += struct.pack(f"<{strips}I", *([data_at] * strips))
        out += struct.pack(f"<{strips}I", *([16] * strips))
    out += b"\x78\x9c" + b"\x00" * 14
    path.write_bytes(bytes(out))
    return path


def write_dicom(path: Path, pixels: np.ndarray | None, **attributes: Any) -> Path:
    """A minimal uncompressed DICOM (secondary capture) of a (rows, cols) array."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    if pixels is not None:
        ds.set_pixel_data(pixels, photometric_interpretation="MONOCHROME2", bits_stored=16)
    for key, value in attributes.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path
