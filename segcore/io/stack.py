"""One multiband image from one file per band: a GDAL VRT, no pixel copied.

Landsat and Sentinel scenes come as one GeoTIFF (or JPEG2000) per band.
:func:`stack_bands` reads only their headers (rasterio) and writes a GDAL
Virtual Raster (``.vrt``, the XML format GDAL documents at gdal.org) whose
bands point at the files' bands, in order. Each band keeps its file's
nodata value and is named after its file (or the file's own band
description); paths are stored relative to the VRT when they can be, so the
folder can move. The files must share one pixel grid (CRS, size, pixel size,
origin); anything else is refused with one line naming the file, since
resampling is a choice (GDAL's ``gdalwarp`` makes it) this must not make
silently. Bands of different pixel types are promoted to one type that holds
them all (GDAL converts while reading). The VRT is written under a
temporary name, opened with GDAL to check it, then renamed; it never
replaces one of its own inputs.

>>> stack_bands(["B4.TIF", "B3.TIF", "B2.TIF"], "rgb.vrt")  # doctest: +SKIP
PosixPath('rgb.vrt')
"""

from __future__ import annotations

import math
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError

# The grid's origin and pixel size may differ by this fraction of a pixel (float noise).
GRID_TOLERANCE = 1e-6


class StackError(SourceError):
    """Band files that cannot be stacked, or a VRT that cannot be written."""


@dataclass(frozen=True)
class BandFile:
    """What the VRT needs to know about one input file (its header only)."""

    path: Path
    width: int
    height: int
    crs: Any  # rasterio CRS or None
    transform: Any  # affine.Affine
    dtypes: tuple[str, ...]
    nodata: tuple[float | None, ...]
    names: tuple[str, ...]
    block: tuple[int, int]  # (width, height) of a storage block


def stack_bands(paths: Sequence[str | Path], out: str | Path) -> Path:
    """Write ``out`` (a ``.vrt``) stacking every band of ``paths``, in order.

    Raises
    ------
    StackError
        Fewer than two files, an output that is not ``.vrt`` or is one of the
        inputs, a file GDAL cannot read, or files not on one pixel grid.
    """
    out = Path(out).expanduser()
    files = [Path(p).expanduser() for p in paths]
    if len(files) < 2:
        raise StackError(out, "give two or more band files to stack")
    if out.suffix.lower() != ".vrt":
        raise StackError(out, "the output must be a .vrt file (a GDAL virtual raster)")
    target = out.resolve()
    for path in files:
        if path.resolve() == target:
            raise StackError(out, "the output is one of the band files; choose another name")
    bands = [read_header(path) for path in files]
    check_grid(bands)
    xml = vrt_document(bands, out.resolve().parent)
    return _write_checked(out, xml, sum(len(b.dtypes) for b in bands))


def read_header(path: Path) -> BandFile:
    """The header of one band file (no pixels read)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    if not path.is_file():
        raise StackError(path, "no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                if ds.count == 0:
                    raise StackError(path, f"has no raster bands ({ds.driver})")
                stem = path.name.split(".")[0]
                names = tuple(
                    desc or (stem if ds.count == 1 else f"{stem} {i + 1}")
                    for i, desc in enumerate(ds.descriptions)
                )
                block_h, block_w = ds.block_shapes[0]
                return BandFile(
                    path=path,
                    width=ds.width,
                    height=ds.height,
                    crs=ds.crs,
                    transform=ds.transform,
                    dtypes=tuple(ds.dtypes),
                    nodata=tuple(ds.nodatavals),
                    names=names,
                    block=(block_w, block_h),
                )
    except StackError:
        raise
    except Exception as exc:  # rasterio's RasterioIOError and friends
        first = str(exc).strip().splitlines()[:1] or [type(exc).__name__]
        raise StackError(path, f"GDAL cannot read it: {first[0]}") from exc


def check_grid(bands: Sequence[BandFile]) -> None:
    """Refuse, naming the first file that differs, unless every file has the first one's grid."""
    first = bands[0]
    for other in bands[1:]:
        why = _grid_difference(first, other)
        if why:
            raise StackError(
                other.path,
                f"{why}; band files must share one pixel grid "
                "(resample it to the others first, e.g. with gdalwarp -tr/-te)",
            )
        if any(np.dtype(d).kind == "c" for d in other.dtypes):
            raise StackError(other.path, "complex pixels cannot be stacked")


def _grid_difference(a: BandFile, b: BandFile) -> str:
    """How ``b``'s grid differs from ``a``'s ("" when it does not)."""
    name = a.path.name

    def differs(what: str, mine: str, theirs: str) -> str:
        return f"{what} {mine} differs from {name}'s {theirs}"

    if (a.crs is None) != (b.crs is None) or (a.crs is not None and a.crs != b.crs):
        return differs("CRS", _crs_name(b.crs), _crs_name(a.crs))
    if (a.width, a.height) != (b.width, b.height):
        return differs("size", f"{b.width} x {b.height}", f"{a.width} x {a.height}")
    ta, tb = a.transform, b.transform
    near = GRID_TOLERANCE * max(abs(ta.a), abs(ta.e), 1e-12)
    scale_a, scale_b = (ta.a, ta.b, ta.d, ta.e), (tb.a, tb.b, tb.d, tb.e)
    if any(abs(x - y) > near for x, y in zip(scale_a, scale_b, strict=True)):
        return differs("pixel size", f"{tb.a:.10g} x {-tb.e:.10g}", f"{ta.a:.10g} x {-ta.e:.10g}")
    if abs(ta.c - tb.c) > near or abs(ta.f - tb.f) > near:
        return differs("origin", f"({tb.c:.10g}, {tb.f:.10g})", f"({ta.c:.10g}, {ta.f:.10g})")
    return ""


def _crs_name(crs: Any) -> str:
    if crs is None:
        return "none"
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else "a custom CRS"


def vrt_document(bands: Sequence[BandFile], folder: Path) -> str:
    """The VRT's XML: one ``VRTRasterBand`` per input band, sources relative to ``folder``."""
    from rasterio.dtypes import _gdal_typename

    first = bands[0]
    common = np.result_type(*[np.dtype(d) for b in bands for d in b.dtypes])
    root = ET.Element("VRTDataset", rasterXSize=str(first.width), rasterYSize=str(first.height))
    if first.crs is not None:
        ET.SubElement(root, "SRS", dataAxisToSRSAxisMapping="1,2").text = first.crs.to_wkt()
    t = first.transform
    if first.crs is not None or not t.is_identity:
        ET.SubElement(root, "GeoTransform").text = ", ".join(
            repr(float(v)) for v in (t.c, t.a, t.b, t.f, t.d, t.e)
        )
    number = 0
    used: set[str] = set()
    for band_file in bands:
        relative, source = _source_name(band_file.path, folder)
        for index, (dtype, nodata, name) in enumerate(
            zip(band_file.dtypes, band_file.nodata, band_file.names, strict=True)
        ):
            number += 1
            band = ET.SubElement(
                root, "VRTRasterBand", dataType=_gdal_typename(common.name), band=str(number)
            )
            ET.SubElement(band, "Description").text = _unique(name, used)
            if nodata is not None:
                ET.SubElement(band, "NoDataValue").text = _number(nodata)
            simple = ET.SubElement(band, "SimpleSource")
            ET.SubElement(simple, "SourceFilename", relativeToVRT=relative).text = source
            ET.SubElement(simple, "SourceBand").text = str(index + 1)
            ET.SubElement(
                simple,
                "SourceProperties",
                RasterXSize=str(band_file.width),
                RasterYSize=str(band_file.height),
                DataType=_gdal_typename(dtype),
                BlockXSize=str(band_file.block[0]),
                BlockYSize=str(band_file.block[1]),
            )
            full = {"xOff": "0", "yOff": "0"}
            full |= {"xSize": str(band_file.width), "ySize": str(band_file.height)}
            ET.SubElement(simple, "SrcRect", full)
            ET.SubElement(simple, "DstRect", full)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _source_name(path: Path, folder: Path) -> tuple[str, str]:
    """("1", path relative to the VRT's folder) when possible, else ("0", absolute path)."""
    full = path.resolve()
    try:
        return "1", Path(os.path.relpath(full, folder)).as_posix()
    except ValueError:  # another drive (Windows)
        return "0", str(full)


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name} ({n})"
    used.add(candidate)
    return candidate


def _number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _write_checked(out: Path, xml: str, band_count: int) -> Path:
    """Write ``xml`` under a temporary name beside ``out``, open it with GDAL, rename it."""
    import rasterio

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.vrt")
    try:
        tmp.write_text(xml, encoding="utf-8")
        with rasterio.open(tmp) as ds:
            if ds.count != band_count:
                raise StackError(out, f"GDAL read {ds.count} bands, not {band_count}")
        os.replace(tmp, out)
    except OSError as exc:
        raise StackError(out, f"cannot write it: {exc}") from exc
    except StackError:
        raise
    except Exception as exc:  # GDAL refusing what was written
        raise StackError(out, f"GDAL cannot read the VRT written: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out
