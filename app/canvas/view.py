"""The canvas: a plain QWidget that paints cached tiles of every layer with QPainter.

Why not QGraphicsView? Its scene graph wants one item per tile and keeps
them all; for a 100k x 100k pyramid the set of tiles changes with every zoom
step, and we would spend our time adding and removing items. A widget whose
``paintEvent`` walks the few visible tiles is simpler and faster: painting
is "for each layer, for each visible tile, drawImage", nothing else.

Painting never waits for data. Each layer is drawn at the level matching
the zoom; where a tile is not loaded yet, the finest cached level around it
(or the thumbnail, for the image) is drawn instead, and the tile is requested
from the loader, which calls ``update()`` when it arrives.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QRegion, QResizeEvent
from PySide6.QtWidgets import QWidget

from app.canvas.input import CanvasInput
from app.canvas.layers import ImageLayer, TileLayer
from app.canvas.patch import patch_tile
from app.canvas.render import image_to_qimage
from app.canvas.tiles import (
    TILE,
    TileCache,
    TileKey,
    TileLoader,
    level_scale,
    tile_window,
    tiles_in_rect,
)
from app.canvas.tools import CanvasTool
from app.canvas.viewport import Viewport

BACKGROUND = QColor(38, 40, 44)
PAINT_HISTORY = 2000  # paint durations kept for the benchmark and the status bar
REST_MS = 150  # the view counts as resting this long after the last move


class CanvasView(CanvasInput, QWidget):
    """Shows an image and its overlays; zoom, pan, slices, and a hook for mouse tools."""

    view_changed = Signal()
    hovered = Signal(object)  # (x, y) in level-0 image pixels, or None off the image
    tile_failed = Signal(object, object)  # TileKey, exception
    layers_changed = Signal()  # a layer was added or removed (the Layers dock lists them)
    slice_changed = Signal(int)  # the slice z of a volume on screen

    def __init__(self, parent: QWidget | None = None, *, cache_bytes: int | None = None) -> None:
        QWidget.__init__(self, parent)
        CanvasInput.__init__(self)
        self.viewport = Viewport(1, 1)
        self.cache = TileCache() if cache_bytes is None else TileCache(cache_bytes)
        self.loader = TileLoader(self.cache, parent=self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self.tile_failed)
        self.layers: list[TileLayer] = []
        self.thumbnail: QImage | None = None
        self.z = 0
        self._fitted = False
        self.paint_ms: list[float] = []
        self.frames = 0
        self.setMinimumSize(200, 150)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.grabGesture(Qt.GestureType.PinchGesture)
        self.set_tool(CanvasTool())
        # While the view moves, scaled tiles are drawn nearest-neighbour (about 1 ms a
        # frame); bilinear filtering costs ~30x more, so it waits until the view rests.
        self.moving = False
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(REST_MS)
        self._rest.timeout.connect(self._at_rest)

    # -- content --------------------------------------------------------------

    @property
    def image_layer(self) -> ImageLayer | None:
        first = self.layers[0] if self.layers else None
        return first if isinstance(first, ImageLayer) else None

    @property
    def image_size(self) -> tuple[int, int]:
        return self.viewport.image_w, self.viewport.image_h

    def set_image(self, layer: ImageLayer, thumbnail: np.ndarray) -> None:
        """Show a new image (and drop every layer of the previous one); fits it to the view."""
        self.clear()
        self.layers = [layer]
        self.viewport = Viewport(
            layer.source.width, layer.source.height, self.width(), self.height()
        )
        self.viewport.fit()
        self._fitted = True
        self.z = 0
        self.refresh_thumbnail(thumbnail)
        self.view_changed.emit()
        self.layers_changed.emit()

    def refresh_thumbnail(self, thumbnail: np.ndarray) -> None:
        """Re-render the fallback thumbnail (after the image's display settings change)."""
        layer = self.image_layer
        if layer is not None:
            pixels = thumbnail if thumbnail.ndim == 3 else thumbnail[..., None]
            self.thumbnail = image_to_qimage(pixels, layer.display, layer.source.nodata)
        self.update()

    def add_layer(self, layer: TileLayer) -> None:
        """Add an overlay above the others (replacing one with the same id)."""
        self.remove_layer(layer.id)
        self.layers.append(layer)
        self.update()
        self.layers_changed.emit()

    def remove_layer(self, layer_id: str) -> None:
        gone = [lay for lay in self.layers if lay.id == layer_id]
        for layer in gone:
            self.layers.remove(layer)
            self.cache.drop(layer_id)
        self.update()
        if gone:
            self.layers_changed.emit()

    def layer(self, layer_id: str) -> TileLayer | None:
        return next((lay for lay in self.layers if lay.id == layer_id), None)

    def clear(self) -> None:
        """Forget all layers and cached tiles (waits for reads in flight)."""
        self.loader.wait()
        had = bool(self.layers)
        self.layers = []
        self.cache.clear()
        self.thumbnail = None
        self.update()
        if had:
            self.layers_changed.emit()

    def set_z(self, z: int) -> None:
        if z != self.z:
            self.z = z
            self.update()
            self.slice_changed.emit(z)

    def restyle(self) -> None:
        """A layer's style changed (visibility, opacity, display...): repaint."""
        self.update()

    def invalidate(self, layer_id: str, box: tuple[int, int, int, int]) -> None:
        """Level-0 box (x, y, w, h) of a layer changed: its tiles are read again.

        The old tiles stay on screen until the new ones arrive (no flicker).
        """
        layer = self.layer(layer_id)
        if layer is None:
            return
        x, y, w, h = box
        stale = []
        # Cached tiles, and tiles being read right now (their read may predate the change).
        pending = self.loader.pending_keys()
        for key in set(self.cache.snapshot()) | pending:
            if key.layer != layer_id:
                continue
            kx, ky, kw, kh = self._tile_rect(layer, key)
            if not (kx < x + w and x < kx + kw and ky < y + h and y < ky + kh):
                continue
            if key in pending or not patch_tile(self.cache, layer, key, box):
                stale.append(key)
        self.loader.invalidate(stale)
        self.update()

    def shutdown(self) -> None:
        """Stop reading tiles for good and join the threads (the window is closing)."""
        self.loader.shutdown()

    # -- view -----------------------------------------------------------------

    def fit(self) -> None:
        self.viewport.fit()
        self._view_moved()
        self._fitted = True  # stays fitted through resizes until the user zooms or pans

    def one_to_one(self) -> None:
        self.viewport.set_zoom(1.0)
        self._view_moved()

    def zoom_by(self, factor: float, anchor: tuple[float, float] | None = None) -> None:
        self.viewport.zoom_by(factor, anchor=anchor)
        self._view_moved()

    def pan_by(self, dx: float, dy: float) -> None:
        self.viewport.pan(dx, dy)
        self._view_moved()

    def center_on(self, x: float, y: float) -> None:
        self.viewport.center_on(x, y)
        self._view_moved()

    def show_rect(self, x: float, y: float, w: float, h: float) -> None:
        """Zoom and pan so the level-0 rect fills the view."""
        vp = self.viewport
        vp.set_zoom(min(vp.view_w / max(w, 1), vp.view_h / max(h, 1)))
        vp.center_on(x + w / 2, y + h / 2)
        self._view_moved()

    def visible_box(self) -> tuple[int, int, int, int]:
        """Integer level-0 (x, y, w, h) of the image area in view."""
        x0, y0, x1, y1 = self.viewport.visible_rect()
        x, y = int(x0), int(y0)
        return x, y, max(int(np.ceil(x1)) - x, 0), max(int(np.ceil(y1)) - y, 0)

    def _view_moved(self) -> None:
        self._fitted = False
        self.moving = True
        self._rest.start()
        self.update()
        self.view_changed.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        self.viewport.resize(self.width(), self.height())
        if self._fitted and self.layers:
            self.viewport.fit()
        self.view_changed.emit()
        super().resizeEvent(event)

    # -- sampling for the status bar ------------------------------------------

    def sample(self, layer_id: str, x: float, y: float) -> tuple[Any, int] | None:
        """(raw value, level) of a layer at level-0 (x, y) from cached tiles, finest first.

        Never reads: returns None when no cached tile covers the point.
        """
        layer = self.layer(layer_id)
        if layer is None or not (0 <= x < self.image_size[0] and 0 <= y < self.image_size[1]):
            return None
        z = self.z if layer.has_depth else 0
        full = self.image_size
        for level in range(len(layer.level_downsamples)):
            size = layer.level_size(level)
            sx, sy = level_scale(full, size)
            col, row = int(x / sx), int(y / sy)
            tile = self.cache.peek(TileKey(layer_id, level, col // TILE, row // TILE, z))
            if tile is not None:
                return tile.value(col % TILE, row % TILE), level
        return None

    # -- painting -------------------------------------------------------------

    def _at_rest(self) -> None:
        self.moving = False
        self.update()

    def _on_loaded(self, key: TileKey) -> None:
        self.update()

    def _tile_rect(self, layer: TileLayer, key: TileKey) -> tuple[float, float, float, float]:
        """Level-0 (x, y, w, h) covered by a tile."""
        size = layer.level_size(key.level)
        sx, sy = level_scale(self.image_size, size)
        x, y, w, h = tile_window(size, key.tx, key.ty)
        return x * sx, y * sy, w * sx, h * sy

    def _screen_rect(self, rect: tuple[float, float, float, float]) -> QRect:
        """Rounded widget rect of a level-0 rect; shared edges round alike, so no seams."""
        x, y, w, h = rect
        x0, y0 = self.viewport.to_screen(x, y)
        x1, y1 = self.viewport.to_screen(x + w, y + h)
        left, top = round(x0), round(y0)
        return QRect(left, top, max(round(x1) - left, 1), max(round(y1) - top, 1))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        start = time.perf_counter()
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if not self.layers:
            self._paint_hint(painter)
            painter.end()
            return
        wanted: set[TileKey] = set()
        for layer in self.layers:
            if layer.visible and layer.opacity > 0:
                painter.setOpacity(layer.opacity)
                self._paint_layer(painter, layer, wanted)
        self.loader.set_wanted(wanted)
        painter.setOpacity(1.0)
        self.tool.paint(painter, self)
        painter.end()
        self.frames += 1
        self.paint_ms.append((time.perf_counter() - start) * 1000)
        del self.paint_ms[:-PAINT_HISTORY]

    def _paint_layer(self, painter: QPainter, layer: TileLayer, wanted: set[TileKey]) -> None:
        vp = self.viewport
        rect = vp.visible_rect()
        level = vp.level_for(layer.level_downsamples)
        z = self.z if layer.has_depth else 0
        style = layer.style()
        size = layer.level_size(level)
        scale = level_scale(self.image_size, size)
        smooth = isinstance(layer, ImageLayer) and vp.zoom * scale[0] < 0.999 and not self.moving
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        ready: list[tuple[QRect, QImage]] = []
        missing = QRegion()
        for tx, ty in tiles_in_rect(size, scale, rect):
            key = TileKey(layer.id, level, tx, ty, z)
            tile = self.cache.get(key)
            wanted.add(key)
            target = self._screen_rect(self._tile_rect(layer, key))
            image = None if tile is None else tile.images.get(style)
            if tile is None or image is None or tile.stale:
                self.loader.request(layer, key, style, priority=1)
            if image is None:
                missing += target
                if tile is not None and tile.images:  # same tile, older style: better than nothing
                    image = next(reversed(tile.images.values()))
            if image is not None:
                ready.append((target, image))
        if not missing.isEmpty():
            painter.setClipRegion(missing)
            self._paint_fallback(painter, layer, level, z, rect)
            painter.setClipping(False)
        for target, image in ready:
            painter.drawImage(target, image)
        for tx, ty in tiles_in_rect(size, scale, rect, margin=1):  # prefetch a ring around
            key = TileKey(layer.id, level, tx, ty, z)
            if key not in wanted:
                wanted.add(key)
                self.loader.request(layer, key, style, priority=0)

    def _paint_fallback(
        self, painter: QPainter, layer: TileLayer, level: int, z: int, rect: Any
    ) -> None:
        """Cached tiles of other levels (coarsest first), under the missing ones."""
        if isinstance(layer, ImageLayer) and self.thumbnail is not None:
            w, h = self.image_size
            painter.drawImage(self._screen_rect((0, 0, w, h)), self.thumbnail)
        count = len(layer.level_downsamples)
        order = [*range(count - 1, level, -1), *([level - 1] if level > 0 else [])]
        for other in order:
            for key, image in self._cached_tiles(layer, other, z, rect):
                painter.drawImage(self._screen_rect(self._tile_rect(layer, key)), image)

    def _cached_tiles(
        self, layer: TileLayer, level: int, z: int, rect: Any
    ) -> Iterator[tuple[TileKey, QImage]]:
        size = layer.level_size(level)
        for tx, ty in tiles_in_rect(size, level_scale(self.image_size, size), rect):
            tile = self.cache.peek(TileKey(layer.id, level, tx, ty, z))
            if tile is not None and tile.images:
                yield TileKey(layer.id, level, tx, ty, z), next(reversed(tile.images.values()))

    def _paint_hint(self, painter: QPainter) -> None:
        painter.setPen(QColor(170, 174, 180))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        painter.drawText(
            QRectF(self.rect()),
            Qt.AlignmentFlag.AlignCenter,
            "Open an image (Ctrl+O) or drop a file here",
        )
