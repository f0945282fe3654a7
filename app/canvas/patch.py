"""Redraw the small changed part of a cached label tile in place.

A brush dab changes a few hundred pixels. Reading the whole 512 px tile again
in a worker and waiting for it costs a thread round trip and two paints (the
old tile, then the new one); redrawing just the changed rectangle from the
label store's chunk cache takes well under a millisecond on the GUI thread,
so the dab is on screen in the very next paint. Large changes (a fill, an
import) still go through the loader.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage, QPainter

from app.canvas.layers import TileLayer
from app.canvas.tiles import TileCache, TileKey, tile_window

PATCH_LIMIT = 128 * 128  # pixels; beyond this the tile is read again in a worker


def patch_tile(
    cache: TileCache, layer: TileLayer, key: TileKey, box: tuple[int, int, int, int]
) -> bool:
    """Redraw the part of level-0 tile ``key`` under ``box`` (x, y, w, h); False if it cannot."""
    tile = cache.peek(key)
    if key.level != 0 or not layer.patchable or tile is None or tile.stale or not tile.images:
        return False
    tx, ty, tw, th = tile_window(layer.level_size(0), key.tx, key.ty)
    g = tile.halo  # outlines of the neighbours of changed pixels change too
    x, y, w, h = box
    x0, y0 = max(tx, x - g), max(ty, y - g)
    x1, y1 = min(tx + tw, x + w + g), min(ty + th, y + h + g)
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) > PATCH_LIMIT:
        return False
    part = layer.read(0, x0 - g, y0 - g, x1 - x0 + 2 * g, y1 - y0 + 2 * g, key.z)
    raw = tile.raw.copy()  # a worker may be rendering the old array for another style
    raw[y0 - ty : y1 - ty + 2 * g, x0 - tx : x1 - tx + 2 * g] = part
    images = {}
    for style, old in tile.images.items():
        image = QImage(old)  # shares pixels until painted on, then detaches
        painter = QPainter(image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(QPoint(x0 - tx, y0 - ty), layer.render(part, style))
        painter.end()
        images[style] = image
    cache.replace(key, raw, images)
    return True
