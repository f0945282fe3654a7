"""Plain, tiled and pyramidal TIFF / BigTIFF / OME-TIFF through tifffile's zarr store.

``TiffFile.aszarr`` exposes the strips or tiles of a TIFF series as zarr
chunks, so a window decodes only the chunks it touches, without GDAL. The
series' own pyramid (SubIFDs as written by tifffile or OME-TIFF, or reduced
pages) becomes the levels. Axes: Y and X are the image plane; S (samples) or
else C (channels) are bands; every other axis (Z, T, ...) is flattened into
planes, selected with ``z``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.axes import AxisPlan
from segcore.io.base import CHUNK_LIMIT, BaseSource, Layout, check_dtype, check_size
from segcore.io.source import SourceMetadata


class TiffSource(BaseSource):
    """A TIFF series read window by window through zarr."""

    def __init__(self, path: Path) -> None:
        import tifffile
        import zarr

        try:
            self._tif = tifffile.TiffFile(path)
        except Exception as exc:
            raise SourceError(path, f"not a readable TIFF file: {exc}") from exc
        try:
            series = self._tif.series[0]
            self._plan = _plan(path, series.axes, tuple(series.shape))
            check_dtype(path, np.dtype(series.dtype))
            self._arrays: list[Any] = []
            sizes: list[tuple[int, int]] = []
            for level in range(len(series.levels)):
                array = zarr.open_array(self._tif.aszarr(series=0, level=level), mode="r")
                chunk_bytes = int(np.prod(array.chunks)) * array.dtype.itemsize
                check_size(path, chunk_bytes, f"one strip or tile of {array.chunks}", CHUNK_LIMIT)
                h, w = array.shape[self._plan.y], array.shape[self._plan.x]
                if sizes and (w >= sizes[-1][0] or h > sizes[-1][1]):
                    break  # not a reduction: another image, not a level
                sizes.append((int(w), int(h)))
                self._arrays.append(array)
            layout = Layout(
                sizes=tuple(sizes),
                bands=self._plan.bands,
                dtype=np.dtype(series.dtype),
                depth=self._plan.depth,
                band_names=_band_names(series.axes, self._plan),
            )
            metadata = _metadata(self._tif, series)
        except SourceError:
            self._tif.close()
            raise
        except Exception as exc:
            self._tif.close()
            raise SourceError(path, f"cannot read the TIFF structure: {exc}") from exc
        super().__init__(path, layout, metadata)
        self._lock = threading.Lock()

    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        return self._plan.read(self._arrays[level], z, slice(y0, y1), slice(x0, x1))

    def _release(self) -> None:
        with self._lock:
            self._arrays = []
            self._tif.close()


def _plan(path: Path, axes: str, shape: tuple[int, ...]) -> AxisPlan:
    """Y and X are the plane, S (or else C) the bands, the rest planes."""
    if "Y" not in axes or "X" not in axes:
        raise SourceError(path, f"TIFF series has no image plane (axes {axes!r})")
    band = axes.index("S") if "S" in axes else axes.index("C") if "C" in axes else None
    return AxisPlan(shape, axes.index("Y"), axes.index("X"), band)


def _band_names(axes: str, plan: AxisPlan) -> tuple[str, ...]:
    if plan.band is None or axes[plan.band] != "S":
        return ()
    return {3: ("red", "green", "blue"), 4: ("red", "green", "blue", "alpha")}.get(plan.bands, ())


def _metadata(tif: Any, series: Any) -> SourceMetadata:
    page = series.pages[0] if series.pages else tif.pages.first
    extra: dict[str, Any] = {
        "axes": series.axes,
        "compression": page.compression.name.lower(),
        "tiled": bool(page.is_tiled),
    }
    mpp = _mpp(tif, page)
    return SourceMetadata(format="ome-tiff" if tif.is_ome else "tiff", mpp=mpp, extra=extra)


def _mpp(tif: Any, page: Any) -> tuple[float, float] | None:
    """Microns per pixel from OME PhysicalSize or centimetre resolution tags."""
    if tif.is_ome:
        import tifffile

        try:
            pixels = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
            pixels = (pixels[0] if isinstance(pixels, list) else pixels)["Pixels"]
            if pixels.get("PhysicalSizeXUnit", "µm") in ("µm", "um"):
                return float(pixels["PhysicalSizeX"]), float(pixels["PhysicalSizeY"])
        except (KeyError, TypeError, ValueError):
            pass
    unit = page.tags.get("ResolutionUnit")
    if unit is not None and int(unit.value) == 3:  # centimetre
        xres, yres = page.get_resolution()
        if xres > 0 and yres > 0:
            return 1e4 / xres, 1e4 / yres
    return None
