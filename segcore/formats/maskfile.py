"""Read label masks from files, window by window, for ``tessera eval`` and ``tessera export``.

:func:`mask_labels` makes a class-mask file (and an instance-mask file) a label
reader (:class:`segcore.labels.adapters.SourceLabels` over :class:`MaskFile` s).

Masks hold raw values (class ids or instance ids), so colour conversion must
not happen: TIFF/GeoTIFF are read with rasterio (windowed), ``.npy`` through a
memory map, PNG with Pillow (palette indices, not colours; PNG cannot be
decoded by window, so a PNG is decoded once and kept), and anything else
through ``segcore.io.open_image`` when it has a single band.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError, TesseraError
from segcore.labels.adapters import SourceLabels
from segcore.labels.box import windows
from segcore.labels.schema import UNLABELLED, ClassInfo


class MaskFile:
    """One single-band mask file opened for windowed reads of raw values."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._array: Any = None
        self._raster: Any = None
        self._source: Any = None
        suffix = self.path.suffix.lower()
        if not self.path.exists():
            raise FormatError(f"{self.path}: file not found")
        try:
            if suffix == ".npy":
                self._array = np.load(self.path, mmap_mode="r", allow_pickle=False)
            elif suffix == ".png":
                from segcore.formats.png import read_png

                self._array = read_png(self.path)[0]
            elif suffix in {".tif", ".tiff"}:
                import rasterio
                from rasterio.errors import NotGeoreferencedWarning

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NotGeoreferencedWarning)
                    self._raster = rasterio.open(self.path)
            else:
                from segcore.io.opener import open_image

                self._source = open_image(self.path)
        except TesseraError:
            raise
        except Exception as exc:
            raise FormatError(f"{self.path}: cannot open the mask: {exc}") from exc
        self.width, self.height, bands = self._shape()
        if bands != 1:
            raise FormatError(
                f"{self.path}: a mask needs one band of ids, this file has {bands} "
                "(colour masks are not supported; save class ids)"
            )

    def _shape(self) -> tuple[int, int, int]:
        if self._array is not None:
            a = self._array
            return int(a.shape[1]), int(a.shape[0]), 1 if a.ndim == 2 else int(a.shape[2])
        if self._raster is not None:
            return int(self._raster.width), int(self._raster.height), int(self._raster.count)
        s = self._source
        return int(s.width), int(s.height), int(s.band_count)

    @property
    def crs(self) -> str | None:
        if self._raster is not None and self._raster.crs is not None:
            return str(self._raster.crs.to_wkt())
        return None

    @property
    def transform(self) -> tuple[float, float, float, float, float, float] | None:
        if self._raster is not None and self._raster.crs is not None:
            t = self._raster.transform
            return (t.a, t.b, t.c, t.d, t.e, t.f)
        return None

    def read_region(self, level: int, x: int, y: int, width: int, height: int) -> NDArray[Any]:
        """Raw values of a level-0 window inside the mask, shape ``(height, width, 1)``."""
        if level != 0:
            raise FormatError(f"{self.path}: a mask file has one level, not {level}")
        w, h = min(width, self.width - x), min(height, self.height - y)
        try:
            if self._array is not None:
                values = np.asarray(self._array[y : y + h, x : x + w])
            elif self._raster is not None:
                from rasterio.windows import Window

                values = np.asarray(self._raster.read(1, window=Window(x, y, w, h)))
            else:
                values = np.asarray(self._source.read_region(0, x, y, w, h)[..., 0])
        except TesseraError:
            raise
        except Exception as exc:  # a truncated or damaged file: RasterioIOError, OSError
            raise FormatError(
                f"{self.path}: cannot read the mask at x={x}, y={y}; "
                "the file may be truncated or damaged"
            ) from exc
        if values.dtype.kind == "f":
            self._check_whole(values, x, y)
        return values[..., None]

    def _check_whole(self, values: NDArray[Any], x: int, y: int) -> None:
        """A float mask must hold whole finite numbers (NaN would silently become class 0)."""
        bad = ~np.isfinite(values)
        bad[~bad] = values[~bad] != np.round(values[~bad])
        if bad.any():
            row, col = (int(v[0]) for v in np.nonzero(bad))
            raise FormatError(
                f"{self.path}: holds {values[row, col]} at x={x + col}, y={y + row}; "
                "a mask holds whole class ids (NaN, infinite and fractional values are refused)"
            )

    def close(self) -> None:
        if self._raster is not None:
            self._raster.close()
        if self._source is not None:
            self._source.close()
        self._array = None


def mask_labels(
    classes_path: str | Path,
    classes: Sequence[ClassInfo] = (),
    *,
    instances_path: str | Path | None = None,
) -> SourceLabels:
    """A label reader over a class-mask file and an optional instance-mask file.

    ``close()`` it when done. Values outside 0..255 in the class mask are refused
    when read (:class:`FormatError` naming the file).
    """
    class_file = MaskFile(classes_path)
    try:
        instance_file = MaskFile(instances_path) if instances_path else None
        where = str(class_file.path)
        return SourceLabels(
            class_file, classes, instances=instance_file, where=where, error=FormatError
        )
    except BaseException:
        class_file.close()
        raise


def highest_class(path: str | Path, *, window: int) -> int:
    """The highest class id a class-mask file holds (255, unlabelled, left out; 0 if none).

    Reads the file window by window, for naming classes ``class 0 .. class N``
    when no class list is given.
    """
    mask = MaskFile(path)
    top = 0
    try:
        for box in windows(mask.width, mask.height, window):
            values = mask.read_region(0, *box)
            values = values[values != UNLABELLED]
            top = max(top, int(values.max()) if values.size else 0)
    finally:
        mask.close()
    return top
