"""Lazy pyramid levels for images that carry none, cached on disk as zarr chunks.

:class:`LazyPyramid` wraps a source and adds levels, each half the size of the
one below, until the longer side is at most ``top`` pixels. A level is never
computed whole: a chunk (``chunk`` x ``chunk`` pixels) is made on first read
from the 2x larger window of the level below (itself computed chunk by chunk
when it is a lazy level too) by averaging 2x2 blocks, ignoring nodata, and
written to a zarr array under::

    <user cache dir>/tessera/pyramids/<hash of path, mtime, size, reader>/level<k>

(``$TESSERA_CACHE_DIR/pyramids/...`` when that is set), so the next session
finds it. A file that changes gets a new hash. While a pyramid reads its
folder it holds it, and the first time it does, the cache is pruned to its
limit, least recently used first (:mod:`segcore.io.pyramid_cache`). Images that already sit in
memory keep their lazy levels in memory instead. Reads are thread-safe: each
chunk has a lock, so two threads never compute the same chunk; a chunk file
appears atomically, so a chunk on disk is a finished chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io import pyramid_cache
from segcore.io.base import BaseSource, Layout
from segcore.io.pyramid_cache import cache_root
from segcore.io.validity import MaskedSource, has_mask
from segcore.jobs import Job, Progress

CHUNK = 512
TOP = 512


def cache_key(source: BaseSource, chunk: int = CHUNK) -> str:
    """Hash naming the cache of ``source``: path, modification time, size, reader."""
    stat = source.path.stat()
    text = f"{source.path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{source.cache_token}|{chunk}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def halve(block: np.ndarray, nodata: float | None) -> np.ndarray:
    """Average 2x2 blocks of an (h, w, bands) array, skipping nodata and NaN.

    Odd edges average the pixels that exist. An output pixel whose four inputs
    are all nodata is nodata. Integers are rounded to nearest.

    >>> halve(np.array([[[1], [2], [9]], [[3], [4], [0]]], np.uint8), nodata=0)[..., 0]
    array([[2, 9]], dtype=uint8)
    """
    h, w, bands = block.shape
    work_type = np.float64 if block.dtype.itemsize >= 4 else np.float32
    ph, pw = h + h % 2, w + w % 2
    work = np.zeros((ph, pw, bands), work_type)
    valid = np.zeros((ph, pw, bands), bool)
    work[:h, :w] = block
    valid[:h, :w] = True
    if nodata is not None and not math.isnan(nodata):
        valid[:h, :w] &= block != nodata
    if block.dtype.kind == "f":
        valid[:h, :w] &= ~np.isnan(block)
    work[~valid] = 0
    sums = work[0::2, 0::2] + work[1::2, 0::2] + work[0::2, 1::2] + work[1::2, 1::2]
    counts = (
        valid[0::2, 0::2].astype(np.uint8)
        + valid[1::2, 0::2]
        + valid[0::2, 1::2]
        + valid[1::2, 1::2]
    )
    mean = sums / np.maximum(counts, 1)
    if block.dtype.kind in "ui":
        mean = np.rint(mean)
    fill = nodata if nodata is not None else 0
    return np.where(counts > 0, mean, fill).astype(block.dtype)


class LazyPyramid(BaseSource):
    """``inner`` plus halved levels computed on demand and cached.

    Parameters
    ----------
    inner
        The source to extend; its own levels are kept as the first levels.
    cache_dir
        Where the zarr arrays live. ``None`` picks :func:`cache_root` / key,
        or memory when ``inner.in_memory``.
    """

    def __init__(
        self,
        inner: BaseSource,
        *,
        cache_dir: Path | None = None,
        top: int = TOP,
        chunk: int = CHUNK,
    ) -> None:
        self._inner = inner
        self._chunk = chunk
        self._first_lazy = inner.level_count
        sizes = [inner.level_size(i) for i in range(inner.level_count)]
        downsamples = list(inner.level_downsamples)
        while max(sizes[-1]) > top:
            w, h = sizes[-1]
            sizes.append(((w + 1) // 2, (h + 1) // 2))
            downsamples.append(downsamples[-1] * 2)
        layout = Layout(
            sizes=tuple(sizes),
            bands=inner.band_count,
            dtype=inner.dtype,
            band_names=inner.band_names,
            nodata=inner.nodata,
            depth=inner.depth,
            downsamples=tuple(downsamples),
        )
        super().__init__(inner.path, layout, inner.metadata)
        self.in_memory = inner.in_memory
        self._managed = cache_dir is None and not inner.in_memory  # under cache_root: pruned
        if self._managed:
            cache_dir = cache_root() / cache_key(inner, chunk)
        self._cache_dir = cache_dir
        self._hold: pyramid_cache.Hold | None = None
        self._pruned = False
        if cache_dir is not None and cache_dir.is_dir():
            with contextlib.suppress(OSError):  # reading the levels will say what is wrong
                self._claim()  # an earlier session's levels: keep them from being pruned
        self._arrays: dict[int, Any] = {}
        self._memory_store: Any = None
        self._done: set[tuple[int, int, int, int]] = set()
        self._guard = threading.Lock()
        self._locks: dict[tuple[int, int, int, int], threading.Lock] = {}

    @property
    def cache_dir(self) -> Path | None:
        """Where the lazy levels are cached (``None``: in memory)."""
        return self._cache_dir

    @property
    def has_mask(self) -> bool:
        """Whether the wrapped source has a mask band of its own (see segcore.io.validity)."""
        return has_mask(self._inner)

    def read_mask(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """The wrapped source's mask at one of its own levels (lazy levels have none)."""
        if level >= self._first_lazy or not isinstance(self._inner, MaskedSource):
            raise SourceError(self.path, f"has no mask band at level {level}")
        return self._inner.read_mask(level, x, y, width, height)

    @property
    def lazy_levels(self) -> range:
        """Indices of the levels this wrapper computes."""
        return range(self._first_lazy, self.level_count)

    def build_levels(self) -> Job[None]:
        """Compute every missing chunk of every lazy level, yielding progress.

        Stopping it (``close()``) leaves only finished chunks behind.
        """
        jobs = [
            (level, z, cy, cx)
            for level in self.lazy_levels
            for z in range(self.depth)
            for cy in range(-(-self.level_size(level)[1] // self._chunk))
            for cx in range(-(-self.level_size(level)[0] // self._chunk))
        ]
        for i, (level, z, cy, cx) in enumerate(jobs):
            self._ensure(level, z, cy, cx)
            yield Progress(done=i + 1, total=len(jobs), message=f"pyramid level {level}")

    def _claim(self, *, prune: bool = False) -> None:
        """Hold the cache folder (creating it); with ``prune``, once, prune the others."""
        if self._cache_dir is None:
            return
        if self._hold is None:
            self._hold = pyramid_cache.hold(self._cache_dir)
        if prune and self._managed and not self._pruned:
            self._pruned = True  # before this cache grows: room for it, within the limit
            pyramid_cache.prune(keep=[self._cache_dir])

    def _release(self) -> None:
        with self._guard:
            self._arrays.clear()
            self._memory_store = None
            if self._hold is not None:
                self._hold.release()
                self._hold = None
        self._inner.close()

    # -- reading ------------------------------------------------------------------
    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        if level < self._first_lazy:
            return self._inner.read_region(level, x0, y0, x1 - x0, y1 - y0, z=z)
        c = self._chunk
        for cy in range(y0 // c, (y1 - 1) // c + 1):
            for cx in range(x0 // c, (x1 - 1) // c + 1):
                self._ensure(level, z, cy, cx)
        return np.asarray(self._array(level)[z, y0:y1, x0:x1, :])

    def _ensure(self, level: int, z: int, cy: int, cx: int) -> None:
        """Make sure chunk (cy, cx) of plane z of a lazy level is computed."""
        key = (level, z, cy, cx)
        if key in self._done:
            return
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._done or self._on_disk(key):
                self._done.add(key)
                return
            c = self._chunk
            width, height = self.level_size(level)
            x0, y0 = cx * c, cy * c
            x1, y1 = min(x0 + c, width), min(y0 + c, height)
            below_w, below_h = self.level_size(level - 1)
            sx1, sy1 = min(2 * x1, below_w), min(2 * y1, below_h)
            block = self.read_region(level - 1, 2 * x0, 2 * y0, sx1 - 2 * x0, sy1 - 2 * y0, z=z)
            self._array(level)[z, y0:y1, x0:x1, :] = halve(block, self.nodata)
            self._done.add(key)

    def _on_disk(self, key: tuple[int, int, int, int]) -> bool:
        if self._cache_dir is None:
            return False
        level, z, cy, cx = key
        array = self._array(level)
        name = array.metadata.encode_chunk_key((z, cy, cx, 0))
        return (self._cache_dir / f"level{level}" / str(name)).exists()

    def _array(self, level: int) -> Any:
        array = self._arrays.get(level)
        if array is None:
            with self._guard:
                array = self._arrays.get(level)
                if array is None:
                    array = self._arrays[level] = self._open_array(level)
        return array

    def _open_array(self, level: int) -> Any:
        import zarr
        import zarr.storage

        width, height = self.level_size(level)
        shape = (self.depth, height, width, self.band_count)
        name = f"level{level}"
        config: Any = {"write_empty_chunks": True}
        if self._cache_dir is None:
            if self._memory_store is None:
                self._memory_store = zarr.storage.MemoryStore()
            store: Any = self._memory_store
        else:
            store = str(self._cache_dir)
            try:
                self._claim(prune=True)
                _describe_cache(self._cache_dir, self.path)
                existing = zarr.open_array(store, path=name, mode="r+")
                if existing.shape == shape and existing.dtype == self.dtype:
                    return existing.with_config(config)
            except (FileNotFoundError, ValueError, KeyError):
                pass  # no cache yet, or an unreadable one: start afresh
            except OSError as exc:
                raise SourceError(
                    self.path,
                    f"cannot write the pyramid cache {self._cache_dir}: {exc}; "
                    "set TESSERA_CACHE_DIR to a writable folder",
                ) from exc
        fill = self.nodata if self.nodata is not None else 0
        return zarr.create_array(
            store,
            name=name,
            shape=shape,
            chunks=(1, self._chunk, self._chunk, self.band_count),
            dtype=self.dtype,
            fill_value=fill,
            overwrite=True,
            config=config,
        )


def _describe_cache(cache_dir: Path, source: Path) -> None:
    """Leave a note saying which file a cache directory belongs to."""
    note = cache_dir / "source.json"
    if not note.exists():
        tmp = note.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"path": str(source.resolve())}))
        os.replace(tmp, note)
