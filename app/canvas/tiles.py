"""Tile grid, a bounded LRU cache of rendered tiles, and the threads that fill it.

A tile is a ``TILE`` x ``TILE`` window of one pyramid level of one layer
(image or overlay), at one slice ``z``. Reading and rendering happen in a
private :class:`~app.canvas.pool.TilePool` (Python threads; see there why not
QThreadPool); the finished tile comes back to the GUI thread through a queued
signal, and only the GUI thread touches the cache.

A request captures everything it needs (the layer, its style, the layer's
generation) on the GUI thread; a worker only checks, under a lock, whether the
tile is still wanted before it reads, so panning past a region quickly does
not leave a queue of useless reads behind.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.canvas.pool import TilePool

if TYPE_CHECKING:
    from app.canvas.layers import TileLayer

TILE = 512
DEFAULT_CACHE_BYTES = 384 * 1024 * 1024


class TileKey(NamedTuple):
    layer: str
    level: int
    tx: int
    ty: int
    z: int


def level_scale(full: tuple[int, int], level: tuple[int, int]) -> tuple[float, float]:
    """Exact (x, y) downsample of a level from its size (pyramids round sizes)."""
    return full[0] / level[0], full[1] / level[1]


def tile_window(level_size: tuple[int, int], tx: int, ty: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of tile (tx, ty) in the level's pixel grid, clipped to the level."""
    x, y = tx * TILE, ty * TILE
    return x, y, min(TILE, level_size[0] - x), min(TILE, level_size[1] - y)


def tiles_in_rect(
    level_size: tuple[int, int],
    scale: tuple[float, float],
    rect: tuple[float, float, float, float],
    *,
    margin: int = 0,
) -> list[tuple[int, int]]:
    """Tiles of a level meeting the level-0 ``rect`` (x0, y0, x1, y1), nearest the centre first.

    ``margin`` adds that many rings of tiles around them (prefetch).
    """
    x0, y0, x1, y1 = rect
    if x1 <= x0 or y1 <= y0:
        return []
    nx, ny = math.ceil(level_size[0] / TILE), math.ceil(level_size[1] / TILE)
    tx0 = max(int(x0 / scale[0] // TILE) - margin, 0)
    ty0 = max(int(y0 / scale[1] // TILE) - margin, 0)
    tx1 = min(int(math.ceil(x1 / scale[0] / TILE)) + margin, nx)
    ty1 = min(int(math.ceil(y1 / scale[1] / TILE)) + margin, ny)
    cx, cy = (tx0 + tx1 - 1) / 2, (ty0 + ty1 - 1) / 2
    tiles = [(tx, ty) for ty in range(ty0, ty1) for tx in range(tx0, tx1)]
    tiles.sort(key=lambda t: (t[0] - cx) ** 2 + (t[1] - cy) ** 2)
    return tiles


@dataclass
class CachedTile:
    """A read tile: its raw values (with the layer's halo) and renderings by style."""

    raw: np.ndarray
    halo: int
    images: dict[Hashable, QImage] = field(default_factory=dict)
    stale: bool = False  # data changed underneath: still drawn, but read again

    @property
    def nbytes(self) -> int:
        return int(self.raw.nbytes) + sum(int(im.sizeInBytes()) for im in self.images.values())

    def value(self, col: int, row: int) -> Any:
        """Raw value at (col, row) of the tile's own window (halo excluded)."""
        return self.raw[row + self.halo, col + self.halo]


class TileCache:
    """LRU of :class:`CachedTile` by :class:`TileKey`, bounded in bytes. GUI thread only."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[TileKey, CachedTile] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._tiles)

    def __contains__(self, key: object) -> bool:
        return key in self._tiles

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: TileKey) -> CachedTile | None:
        tile = self._tiles.get(key)
        if tile is not None:
            self._tiles.move_to_end(key)
        return tile

    def peek(self, key: TileKey) -> CachedTile | None:
        """Like :meth:`get` without marking the tile as recently used."""
        return self._tiles.get(key)

    def image(self, key: TileKey, style: Hashable) -> QImage | None:
        tile = self._tiles.get(key)
        return None if tile is None else tile.images.get(style)

    def put(
        self,
        key: TileKey,
        raw: np.ndarray,
        halo: int,
        style: Hashable,
        image: QImage,
        *,
        stale: bool = False,
    ) -> None:
        old = self._tiles.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        tile = CachedTile(raw, halo, stale=stale)
        if old is not None and old.raw is raw:
            # Same data in another style: keep the last rendering too (toggling back is instant).
            tile.images = {s: im for s, im in list(old.images.items())[-1:] if s != style}
        tile.images[style] = image
        self._tiles[key] = tile
        self._bytes += tile.nbytes
        self._evict()

    def replace(self, key: TileKey, raw: np.ndarray, images: dict[Hashable, QImage]) -> None:
        """New raw values and renderings for a cached tile of the same shape (a patch)."""
        tile = self._tiles[key]
        self._bytes -= tile.nbytes
        tile.raw, tile.images = raw, images
        self._bytes += tile.nbytes
        self._tiles.move_to_end(key)

    def drop(self, layer: str, *, level: int | None = None) -> None:
        for key in [k for k in self._tiles if k.layer == layer and level in (None, k.level)]:
            self._bytes -= self._tiles.pop(key).nbytes

    def mark_stale(self, keys: list[TileKey]) -> None:
        for key in keys:
            tile = self._tiles.get(key)
            if tile is not None:
                tile.stale = True

    def snapshot(self) -> list[TileKey]:
        """Keys of every cached tile, least recently used first (a copy)."""
        return list(self._tiles)

    def clear(self) -> None:
        self._tiles.clear()
        self._bytes = 0

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and len(self._tiles) > 1:
            _, tile = self._tiles.popitem(last=False)
            self._bytes -= tile.nbytes


class _Relay(QObject):
    """Lives in the GUI thread; workers emit on it, Qt queues the call across."""

    done = Signal(object)  # a _Result


@dataclass(frozen=True)
class _Result:
    key: TileKey
    style: Hashable
    generation: int
    raw: np.ndarray | None
    image: QImage | None
    error: BaseException | None = None


class _ReadTile:
    def __init__(
        self, loader: TileLoader, layer: TileLayer, key: TileKey, style: Hashable, raw: Any
    ) -> None:
        self._loader, self._layer, self._key, self._style = loader, layer, key, style
        self._raw = raw
        self._generation = layer.generation

    def run(self) -> None:
        loader, key = self._loader, self._key
        raw, image, error = self._raw, None, None
        try:
            if loader.still_wanted(key):
                if raw is None:
                    raw = self._layer.read_tile(key.level, key.tx, key.ty, key.z)
                image = self._layer.render(raw, self._style)
        except Exception as exc:  # handed to the GUI thread, which shows it once
            error = exc
        loader.relay.done.emit(_Result(key, self._style, self._generation, raw, image, error))


class TileLoader(QObject):
    """Reads and renders tiles in a private thread pool; emits ``loaded`` per tile."""

    loaded = Signal(object)  # TileKey
    failed = Signal(object, object)  # TileKey, exception

    def __init__(self, cache: TileCache, *, threads: int = 3, parent: QObject | None = None):
        super().__init__(parent)
        self.cache = cache
        self.pool = TilePool(max(1, min(threads, os.cpu_count() or 1)))
        self.relay = _Relay(self)
        self.relay.done.connect(self._on_done)
        self._pending: set[tuple[TileKey, Hashable]] = set()
        self._dirty: set[TileKey] = set()  # invalidated while being read
        self._wanted: set[TileKey] = set()
        self._lock = threading.Lock()
        self._layers: dict[str, TileLayer] = {}
        self.failed_keys: set[TileKey] = set()

    # -- requests (GUI thread) ------------------------------------------------

    def set_wanted(self, keys: set[TileKey]) -> None:
        with self._lock:
            self._wanted = set(keys)

    def still_wanted(self, key: TileKey) -> bool:
        with self._lock:
            return key in self._wanted

    def request(self, layer: TileLayer, key: TileKey, style: Hashable, *, priority: int) -> None:
        """Start reading/rendering ``key`` unless it is cached, pending or failed."""
        if (key, style) in self._pending or key in self.failed_keys:
            return
        tile = self.cache.peek(key)
        if tile is not None and style in tile.images and not tile.stale:
            return
        raw = tile.raw if tile is not None and not tile.stale else None
        self._layers[key.layer] = layer
        with self._lock:
            self._wanted.add(key)  # before the job starts: it checks this first
        if self.pool.start(_ReadTile(self, layer, key, style, raw).run, priority):
            self._pending.add((key, style))

    def pending_keys(self) -> set[TileKey]:
        """Tiles requested and not yet back."""
        return {key for key, _ in self._pending}

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def invalidate(self, keys: list[TileKey]) -> None:
        """Data under ``keys`` changed: keep showing them, but read them again."""
        self.cache.mark_stale(keys)
        pending = {k for k, _ in self._pending}
        self._dirty.update(k for k in keys if k in pending)
        self.failed_keys.difference_update(keys)

    def forget(self, layer: str) -> None:
        """Forget failures of ``layer`` (after its data or settings changed)."""
        self.failed_keys = {k for k in self.failed_keys if k.layer != layer}

    def wait(self, msecs: int = -1) -> bool:
        """Skip queued reads, wait for running ones; True when the pool is idle."""
        with self._lock:
            self._wanted = set()
        return self.pool.wait(None if msecs < 0 else msecs / 1000)

    def shutdown(self) -> None:
        """Stop for good: queued reads are dropped and the threads joined."""
        with self._lock:
            self._wanted = set()
        self.pool.shutdown()
        self._pending.clear()

    # -- results (GUI thread) -------------------------------------------------

    def _on_done(self, result: _Result) -> None:
        self._pending.discard((result.key, result.style))
        stale = result.key in self._dirty
        self._dirty.discard(result.key)
        layer = self._layers.get(result.key.layer)
        if layer is None or result.generation != layer.generation:
            return  # the layer changed while this tile was read: a fresh request follows
        if result.error is not None:
            self.failed_keys.add(result.key)
            self.failed.emit(result.key, result.error)
            return
        if result.raw is None or result.image is None:
            return  # skipped: no longer wanted
        self.cache.put(result.key, result.raw, layer.halo, result.style, result.image, stale=stale)
        self.loaded.emit(result.key)
