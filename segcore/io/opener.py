"""``open_image``: pick the reader for a file by its content.

Readers are imported only when needed, so opening a PNG never loads GDAL or
openslide, and nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from segcore.errors import SourceError
from segcore.io.base import BaseSource
from segcore.io.detect import Kind, sniff, tiff_kind
from segcore.io.source import ImageSource

# Sources whose coarsest level is longer than this get lazy levels on top.
PYRAMID_ABOVE = 1024


def open_image(path: str | Path, *, axis: int = 2) -> ImageSource:
    """Open an image, volume or slide for windowed reading.

    The reader is chosen from the file's first bytes (PNG, JPEG, BMP, GIF,
    WebP, TIFF/BigTIFF, DICOM, NIfTI, zarr, JPEG2000, VRT); anything else is
    offered to openslide, GDAL and Pillow in turn. Images larger than
    :data:`PYRAMID_ABOVE` pixels that carry no pyramid of their own get lazy
    levels computed region by region and cached on disk (see
    :mod:`segcore.io.pyramid`).

    Parameters
    ----------
    path
        A file, or a zarr directory.
    axis
        For NIfTI volumes, the voxel axis that is sliced into planes
        (0 sagittal, 1 coronal, 2 axial for an RAS file).

    Raises
    ------
    SourceError
        Naming the file and the reason, for anything that cannot be read.

    Examples
    --------
    >>> src = open_image("scan.tif")  # doctest: +SKIP
    >>> tile = src.read_region(0, 0, 0, 512, 512)  # (512, 512, bands)
    """
    path = Path(path).expanduser()
    try:
        source = _open(path, axis)
    except SourceError:
        raise
    except MemoryError as exc:
        raise SourceError(path, "out of memory while opening") from exc
    except Exception as exc:  # a library failing in a way its reader did not foresee
        raise SourceError(path, f"cannot open: {type(exc).__name__}: {exc}") from exc
    return with_pyramid(source)


def with_pyramid(source: BaseSource) -> BaseSource:
    """``source`` itself, or wrapped with lazy levels when it is big and flat."""
    coarsest = source.level_size(source.level_count - 1)
    if max(coarsest) <= PYRAMID_ABOVE:
        return source
    from segcore.io.pyramid import LazyPyramid

    return LazyPyramid(source)


def _open(path: Path, axis: int) -> BaseSource:
    kind = sniff(path)
    if kind in (Kind.PNG, Kind.JPEG, Kind.BMP, Kind.GIF, Kind.WEBP):
        from segcore.io.plain import PlainSource

        return PlainSource(path)
    if kind is Kind.TIFF:
        return _open_tiff(path)
    if kind is Kind.DICOM:
        if _slide_vendor(path) == "dicom":  # whole-slide DICOM: tiled frames
            from segcore.io.slide import SlideSource

            return SlideSource(path)
        from segcore.io.dicom import DicomSource

        return DicomSource(path)
    if kind is Kind.NIFTI:
        from segcore.io.nifti import NiftiSource

        return NiftiSource(path, axis=axis)
    if kind is Kind.ZARR:
        from segcore.io.zarr_source import ZarrSource

        return ZarrSource(path)
    if kind is Kind.OTHER and _slide_vendor(path) is not None:  # MRXS, VMS, ...
        from segcore.io.slide import SlideSource

        return SlideSource(path)
    # JPEG2000, VRT and whatever else GDAL knows; then Pillow (TGA, PPM, ICO, ...).
    from segcore.io.raster import NotARaster, RasterSource

    try:
        return RasterSource(path)
    except NotARaster as exc:
        if kind is not Kind.OTHER:
            raise
        gdal_reason = exc.reason
    from segcore.io.plain import NotAPicture, PlainSource

    try:
        return PlainSource(path)
    except NotAPicture as exc:
        reason = (
            "not a recognised image format: no known signature, and neither openslide, "
            f"GDAL nor Pillow can read it ({gdal_reason})"
        )
        raise SourceError(path, reason) from exc


def _open_tiff(path: Path) -> BaseSource:
    which = tiff_kind(path)
    if which == "geotiff":
        from segcore.io.raster import RasterSource

        return RasterSource(path)
    if which == "slide":
        from segcore.io.slide import SlideSource

        return SlideSource(path)
    from segcore.io.bigtiff import TiffSource

    return TiffSource(path)


def _slide_vendor(path: Path) -> str | None:
    import openslide

    try:
        vendor: str | None = openslide.OpenSlide.detect_format(str(path))
    except Exception:
        return None
    return vendor
