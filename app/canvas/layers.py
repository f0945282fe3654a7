"""Layers the canvas draws: each is tiled, pyramid-aware and renders its own tiles.

A layer answers three questions for the tile machinery: what levels it has
(``level_downsamples``, ``level_size``), how to read one tile (``read_tile``,
called in a worker thread) and how to turn raw values into a QImage
(``render``, also in a worker, for a ``style`` captured on the GUI thread).
The image itself is an :class:`ImageLayer`; overlays live in
:mod:`app.canvas.overlays`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from app.canvas.render import Display, image_to_qimage
from app.canvas.tiles import tile_window
from segcore.io.source import ImageSource


class TileLayer(ABC):
    """Base class: a named, tiled, pyramid-aware thing the canvas draws.

    Subclasses implement ``level_downsamples``, ``level_size``, ``read`` and
    ``render``. ``halo`` pixels of context are read around each tile (outlines
    need the neighbours). ``generation`` changes when all the data changes.
    """

    halo = 0
    has_depth = False  # True: tiles differ per slice z
    patchable = False  # True: small reads are cheap enough for the GUI thread (in memory)
    kind = "layer"

    def __init__(self, layer_id: str, name: str, *, visible: bool = True, opacity: float = 1.0):
        self.id = layer_id
        self.name = name
        self.visible = visible
        self.opacity = opacity
        self.outlines = False
        self.generation = 0

    # -- geometry -------------------------------------------------------------

    @property
    @abstractmethod
    def level_downsamples(self) -> tuple[float, ...]: ...

    @abstractmethod
    def level_size(self, level: int) -> tuple[int, int]: ...

    # -- worker-thread side ---------------------------------------------------

    @abstractmethod
    def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray: ...

    def read_tile(self, level: int, tx: int, ty: int, z: int) -> np.ndarray:
        """Raw values of tile (tx, ty) of ``level`` with ``halo`` pixels around it."""
        x, y, w, h = tile_window(self.level_size(level), tx, ty)
        g = self.halo
        return self.read(level, x - g, y - g, w + 2 * g, h + 2 * g, z)

    @abstractmethod
    def render(self, raw: np.ndarray, style: Any) -> QImage: ...

    # -- GUI-thread side ------------------------------------------------------

    def style(self) -> Hashable:
        """Everything ``render`` depends on besides the raw values (part of the cache key)."""
        return None

    def describe(self, value: Any) -> str:
        """Text for the status bar about one raw value under the cursor."""
        return str(value)

    def bump(self) -> None:
        """All data changed: cached and in-flight tiles of this layer are stale."""
        self.generation += 1


class ImageLayer(TileLayer):
    """The image of an :class:`ImageSource`, through a :class:`Display`.

    segcore's readers are safe to call from several threads (GDAL handles are
    per thread, other libraries are locked inside the reader); any other
    ImageSource is read under a lock unless it says ``thread_safe = True``.
    """

    has_depth = True
    kind = "image"

    def __init__(self, source: ImageSource, display: Display) -> None:
        super().__init__("image", source.path.name or "image")
        self.source = source
        self.display = display
        self._lock = None if _thread_safe(source) else threading.Lock()
        self._sizes = [source.level_size(i) for i in range(len(source.level_downsamples))]

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return tuple(self.source.level_downsamples)

    def level_size(self, level: int) -> tuple[int, int]:
        return self._sizes[level]

    def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
        if self._lock is None:
            return self._read_masked(level, x, y, w, h, z)
        with self._lock:
            return self._read_masked(level, x, y, w, h, z)

    def _read_masked(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
        """Pixels of the window; where the source's mask band marks them invalid (a band
        stack whose bands differ in nodata), NaN, which renders transparent."""
        from segcore.io.validity import has_mask, read_invalid

        raw = self.source.read_region(level, x, y, w, h, z=z)
        if not has_mask(self.source):
            return raw
        invalid = read_invalid(self.source, raw, level, x, y)
        if invalid is None or not invalid.any():
            return raw
        out = raw.astype(np.float32)
        out[invalid] = np.nan
        return out

    def render(self, raw: np.ndarray, style: Any) -> QImage:
        return image_to_qimage(raw, style, self.source.nodata)

    def style(self) -> Hashable:
        return self.display

    def describe(self, value: Any) -> str:
        values = np.atleast_1d(value)
        if _is_nodata(values, self.source.nodata):
            return "nodata"
        names = self.source.band_names
        if len(values) > 4:
            return " ".join(_fmt(v) for v in values[:4]) + f" ... ({len(values)} bands)"
        if len(values) == 1:
            return _fmt(values[0])
        return " ".join(f"{n}={_fmt(v)}" for n, v in zip(names, values, strict=False))


def _thread_safe(source: ImageSource) -> bool:
    from segcore.io.array import ArraySource
    from segcore.io.base import BaseSource

    return isinstance(source, BaseSource | ArraySource) or bool(
        getattr(source, "thread_safe", False)
    )


def _is_nodata(values: np.ndarray, nodata: float | None) -> bool:
    """The one nodata rule (segcore.io.validity) for the pixel under the cursor."""
    from segcore.io.validity import invalid_pixels

    if values.dtype.kind not in "iuf":
        return False
    found = invalid_pixels(values.reshape(1, 1, -1), nodata=nodata)
    return bool(found is not None and found[0, 0])


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)
