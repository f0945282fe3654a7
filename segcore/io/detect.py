"""Tell an image's format from its first bytes, not from its name.

Files are often misnamed (a PNG saved as ``.jpg``, a TIFF as ``.dat``), so the
reader is chosen by magic numbers. :func:`sniff` answers a :class:`Kind`;
:func:`tiff_kind` looks inside a TIFF to tell a GeoTIFF, a whole-slide image
and a plain or tiled TIFF apart.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from enum import Enum
from pathlib import Path

from segcore.errors import SourceError

HEAD_BYTES = 1024


class Kind(Enum):
    PNG = "png"
    JPEG = "jpeg"
    BMP = "bmp"
    GIF = "gif"
    WEBP = "webp"
    TIFF = "tiff"
    DICOM = "dicom"
    NIFTI = "nifti"
    ZARR = "zarr"
    JPEG2000 = "jpeg2000"
    VRT = "vrt"
    OTHER = "other"  # unknown magic: let openslide or GDAL try


# (prefix, kind); checked in order
_MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"\x89PNG\r\n\x1a\n", Kind.PNG),
    (b"\xff\xd8\xff", Kind.JPEG),
    (b"II*\x00", Kind.TIFF),
    (b"MM\x00*", Kind.TIFF),
    (b"II+\x00", Kind.TIFF),  # BigTIFF
    (b"MM\x00+", Kind.TIFF),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", Kind.JPEG2000),  # JP2 box
    (b"\xffO\xffQ", Kind.JPEG2000),  # bare J2K codestream
    (b"GIF87a", Kind.GIF),
    (b"GIF89a", Kind.GIF),
    (b"BM", Kind.BMP),
)

ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup")


def sniff(path: Path) -> Kind:
    """The format of the file or directory at ``path``, from its content.

    Raises
    ------
    SourceError
        If the path is missing, unreadable, empty, or a directory that is not
        a zarr store.
    """
    if not path.exists():
        raise SourceError(path, "no such file or directory")
    if path.is_dir():
        if any((path / marker).exists() for marker in ZARR_MARKERS):
            return Kind.ZARR
        raise SourceError(
            path,
            "is a directory, not an image (a zarr store would hold zarr.json or .zarray)",
        )
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise SourceError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    if not head:
        raise SourceError(path, "file is empty (0 bytes)")
    return sniff_bytes(head)


def sniff_bytes(head: bytes) -> Kind:
    """The format told by the first bytes of a file (see :func:`sniff`)."""
    # First: a DICOM preamble may itself be a TIFF header (dual-personality files).
    if head[128:132] == b"DICM":
        return Kind.DICOM
    for prefix, kind in _MAGIC:
        if head.startswith(prefix):
            if kind is Kind.BMP and not _looks_like_bmp(head):
                continue
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind.WEBP
    if _is_nifti_header(head) or (head[:2] == b"\x1f\x8b" and _is_nifti_header(_gunzip(head))):
        return Kind.NIFTI
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<VRTDataset"):
        return Kind.VRT
    return Kind.OTHER


def _looks_like_bmp(head: bytes) -> bool:
    # "BM" then a DIB header whose size is one of the known ones.
    if len(head) < 18:
        return False
    (dib,) = struct.unpack("<I", head[14:18])
    return dib in (12, 40, 52, 56, 64, 108, 124)


def _is_nifti_header(head: bytes) -> bool:
    if len(head) < 348:
        return False
    for order in "<>":
        (size,) = struct.unpack(order + "i", head[:4])
        if size == 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
            return True
        if size == 348 and head[344:348] == b"\x00\x00\x00\x00":  # Analyze 7.5 .hdr
            return True
        if size == 540 and head[4:8] in (b"n+2\x00", b"ni2\x00"):
            return True
    return False


def _gunzip(head: bytes) -> bytes:
    """As much of a gzip stream's start as ``head`` holds, decompressed."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 600)
    except (zlib.error, gzip.BadGzipFile):
        return b""


# GeoTIFF keys, tie points, pixel scale, transformation; GDAL metadata and nodata
_GEO_TAGS = {33550, 33922, 34264, 34735, 42112, 42113}


def tiff_kind(path: Path) -> str:
    """Which reader suits a TIFF: ``"geotiff"``, ``"slide"`` or ``"tiff"``.

    GeoTIFF keys or GDAL tags mean rasterio (CRS, nodata, overviews); a format
    openslide knows from a slide scanner, or a tiled pyramid openslide can
    walk, means openslide; everything else (OME-TIFF included, whose SubIFD
    pyramids openslide does not see) goes to tifffile.
    """
    tags, description = first_ifd(path)
    if tags & _GEO_TAGS:
        return "geotiff"
    if b"<OME" in description:
        return "tiff"
    import openslide

    vendor = openslide.OpenSlide.detect_format(str(path))
    if vendor is None:
        return "tiff"
    if vendor != "generic-tiff":
        return "slide"
    try:
        with openslide.OpenSlide(str(path)) as slide:
            return "slide" if slide.level_count > 1 else "tiff"
    except openslide.OpenSlideError:
        return "tiff"


def first_ifd(path: Path) -> tuple[set[int], bytes]:
    """Tag numbers of a TIFF's first image and the start of its description.

    Hand-written because it is all ``tiff_kind`` needs: importing tifffile
    for it would cost ``tessera info`` more than half a second on a GeoTIFF.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(16)
            order = "<" if head[:2] == b"II" else ">"
            big = struct.unpack(order + "H", head[2:4])[0] == 43
            # classic: 2-byte tag count, 4-byte counts/offsets; BigTIFF: 8 and 8
            word, count_fmt = ("Q", "Q") if big else ("I", "H")
            (offset,) = struct.unpack(order + word, head[8:16] if big else head[4:8])
            f.seek(offset)
            (count,) = struct.unpack(order + count_fmt, f.read(struct.calcsize(count_fmt)))
            if count > 4096:
                raise ValueError(f"first IFD claims {count} tags")
            size = 4 + 2 * struct.calcsize(word)
            table = f.read(count * size)
            tags: set[int] = set()
            description = b""
            for entry in (table[i : i + size] for i in range(0, len(table), size)):
                tag, kind, n = struct.unpack(order + "HH" + word, entry[: size // 2 + 2])
                tags.add(tag)
                if tag == 270 and kind == 2:  # ImageDescription, ASCII
                    field = entry[size // 2 + 2 :]
                    if n <= len(field):
                        description = field[:n]
                    else:
                        (at,) = struct.unpack(order + word, field)
                        f.seek(at)
                        description = f.read(min(n, 4096))
    except (OSError, struct.error, ValueError) as exc:
        raise SourceError(path, f"not a readable TIFF file: {exc}") from exc
    if not tags:
        raise SourceError(path, "not a readable TIFF file: its first image has no tags")
    return tags, description
