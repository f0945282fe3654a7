"""Read label masks from files, window by window, for ``tessera eval`` and ``tessera export``.

Masks hold raw values (class ids or instance ids), so colour conversion must
not happen: TIFF/GeoTIFF are read with rasterio (windowed), ``.npy`` through a
memory map, PNG with Pillow (palette indices, not colours; PNG cannot be
decoded by window, so a PNG is decoded once and kept), and anything else
through ``segcore.io.open_image`` when it has a single band.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError, TesseraError
from segcore.formats.base import Layer
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

    def read(self, x: int, y: int, w: int, h: int) -> NDArray[Any]:
        """Raw values of a window (clipped to the image)."""
        w, h = min(w, self.width - x), min(h, self.height - y)
        if self._array is not None:
            return np.asarray(self._array[y : y + h, x : x + w])
        if self._raster is not None:
            from rasterio.windows import Window

            return np.asarray(self._raster.read(1, window=Window(x, y, w, h)))
        return np.asarray(self._source.read_region(0, x, y, w, h)[..., 0])

    def close(self) -> None:
        if self._raster is not None:
            self._raster.close()
        if self._source is not None:
            self._source.close()
        self._array = None


class MaskLabels:
    """A :class:`LabelReader` over a class-mask file and an optional instance-mask file."""

    def __init__(
        self,
        classes_path: str | Path,
        classes: list[ClassInfo],
        *,
        instances_path: str | Path | None = None,
    ) -> None:
        self.class_file = MaskFile(classes_path)
        self.instance_file = MaskFile(instances_path) if instances_path else None
        inst = self.instance_file
        if inst is not None and (inst.width, inst.height) != (self.width, self.height):
            raise FormatError(
                f"{inst.path}: instance mask is {inst.width} x {inst.height}, class mask "
                f"{self.width} x {self.height}"
            )
        self._classes = classes

    @property
    def width(self) -> int:
        return self.class_file.width

    @property
    def height(self) -> int:
        return self.class_file.height

    @property
    def classes(self) -> list[ClassInfo]:
        return list(self._classes)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int) -> NDArray[Any]:
        if layer == "semantic":
            values = self.class_file.read(x, y, w, h)
            if values.size and (values.min() < 0 or values.max() > UNLABELLED):
                raise FormatError(
                    f"{self.class_file.path}: value {values.max()} is not a class id (0..255)"
                )
            return values.astype(np.uint8)
        if self.instance_file is None:
            return np.zeros((min(h, self.height - y), min(w, self.width - x)), np.uint32)
        return self.instance_file.read(x, y, w, h).astype(np.uint32)

    def close(self) -> None:
        self.class_file.close()
        if self.instance_file is not None:
            self.instance_file.close()
