"""Tile grid, the byte-bounded LRU cache and the threaded loader."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from app.canvas.layers import ImageLayer
from app.canvas.render import Display
from app.canvas.tiles import TILE, TileCache, TileKey, TileLoader, tile_window, tiles_in_rect
from segcore.io.array import ArraySource


def image(n: int = 4) -> QImage:
    img = QImage(n, n, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(0)
    return img


def test_tile_window_is_clipped_at_the_edge() -> None:
    assert tile_window((1200, 700), 0, 0) == (0, 0, TILE, TILE)
    assert tile_window((1200, 700), 2, 1) == (1024, 512, 176, 188)


def test_tiles_in_rect_covers_the_rect_centre_first() -> None:
    tiles = tiles_in_rect((4096, 4096), (2.0, 2.0), (1500.0, 0.0, 4200.0, 1100.0))
    # level pixels x 750..2100, y 0..550 -> tile columns 1..4, rows 0..1
    assert set(tiles) == {(tx, ty) for tx in (1, 2, 3, 4) for ty in (0, 1)}
    assert tiles[0] in {(2, 0), (3, 0), (2, 1), (3, 1)}
    ring = tiles_in_rect((4096, 4096), (2.0, 2.0), (1500.0, 0.0, 4200.0, 1100.0), margin=1)
    assert (0, 2) in ring and (5, 2) in ring and len(ring) == 6 * 3
    assert tiles_in_rect((100, 100), (1.0, 1.0), (50.0, 50.0, 50.0, 90.0)) == []


def test_cache_evicts_least_recently_used_by_bytes() -> None:
    raw = np.zeros((10, 10), np.uint8)  # 100 bytes + 64 for a 4x4 image
    cache = TileCache(max_bytes=3 * 164)
    keys = [TileKey("a", 0, i, 0, 0) for i in range(4)]
    for key in keys[:3]:
        cache.put(key, raw, 0, "s", image())
    cache.get(keys[0])  # now keys[1] is the oldest
    cache.put(keys[3], raw, 0, "s", image())
    assert keys[1] not in cache and all(k in cache for k in (keys[0], keys[2], keys[3]))
    assert cache.nbytes == 3 * 164


def test_cache_keeps_one_older_style_of_the_same_raw() -> None:
    raw = np.zeros((2, 2), np.uint8)
    cache = TileCache()
    key = TileKey("a", 0, 0, 0, 0)
    cache.put(key, raw, 0, "old", image())
    cache.put(key, raw, 0, "new", image())
    assert set(cache.peek(key).images) == {"old", "new"}  # type: ignore[union-attr]
    cache.mark_stale([key])
    assert cache.peek(key).stale  # type: ignore[union-attr]
    cache.drop("a")
    assert len(cache) == 0 and cache.nbytes == 0


def test_loader_reads_and_renders_in_threads(qtbot) -> None:  # type: ignore[no-untyped-def]
    pixels = np.zeros((600, 700, 3), np.uint8)
    pixels[512:, 512:] = (10, 200, 30)
    layer = ImageLayer(ArraySource(pixels), Display((0, 1, 2), (0,) * 3, (255,) * 3))
    cache = TileCache()
    loader = TileLoader(cache)
    key = TileKey("image", 0, 1, 1, 0)
    with qtbot.waitSignal(loader.loaded, timeout=10_000) as signal:
        loader.request(layer, key, layer.style(), priority=1)
    assert signal.args == [key]
    tile = cache.peek(key)
    assert tile is not None and tile.raw.shape == (88, 188, 3)
    assert tile.images[layer.style()].pixelColor(0, 0).getRgb() == (10, 200, 30, 255)
    loader.request(layer, key, layer.style(), priority=1)
    assert not loader.busy  # cached: nothing to do
    assert loader.wait(5000)


def test_loader_reports_failures_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    class Broken(ImageLayer):
        def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
            raise OSError("disk on fire")

    layer = Broken(ArraySource(np.zeros((8, 8), np.uint8)), Display((0,), (0,), (1,)))
    loader = TileLoader(TileCache())
    key = TileKey("image", 0, 0, 0, 0)
    with qtbot.waitSignal(loader.failed, timeout=10_000) as signal:
        loader.request(layer, key, layer.style(), priority=1)
    assert str(signal.args[1]) == "disk on fire"
    loader.request(layer, key, layer.style(), priority=1)
    assert not loader.busy  # a failed tile is not retried until invalidated
    assert loader.wait(5000)
