"""The label store: one image's class map and instance map, chunked on disk.

Layout of ``<name>.zarr`` (a zarr v3 group)::

    zarr.json              attrs["tessera"]: width, height, chunk, levels, max_instance
    semantic/0 .. /k       uint8 class map and its overviews, fill UNLABELLED (255)
    instance/0 .. /k       uint32 instance ids and overviews, fill 0 (no instance)
    labelled_per_chunk     uint32 count of labelled pixels per level-0 chunk

Nothing is written for chunks still at the fill value, so a 100k x 100k store
is a few kilobytes until someone paints. Edits go to a bounded write-back cache
(:class:`~segcore.labels.chunkcache.ChunkCache`); :meth:`LabelStore.flush`
writes them and fsyncs the chunk files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from segcore.errors import LabelError
from segcore.labels import overviews
from segcore.labels.box import Box
from segcore.labels.chunkcache import ChunkCache
from segcore.labels.reader import DTYPES, FILLS, LAYERS, Layer
from segcore.labels.schema import UNLABELLED, ClassInfo
from segcore.labels.storemeta import FORMAT_VERSION, fsync_path, member, read_meta

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


class WriteRecorder(Protocol):
    """Told before level-0 pixels of ``box`` change (undo snapshots hook in here)."""

    def before_write(self, store: LabelStore, box: Box) -> None: ...


class LabelStore:
    """Class map + instance map of one image, read and written by window.

    Create with :meth:`create`, open with :meth:`open`. Coordinates are level-0
    pixels unless ``level`` says otherwise. A store is a
    :class:`~segcore.labels.reader.LabelReader`; the files hold ids only, so
    ``classes`` is what its owner (the project) says they mean.

    Example
    -------
    >>> store = LabelStore.create(tmp / "a.zarr", width=100_000, height=100_000)  # doctest: +SKIP
    >>> store.write("semantic", 10, 20, np.full((4, 4), 3, np.uint8))  # doctest: +SKIP
    Box(x=10, y=20, w=4, h=4)
    """

    def __init__(self, path: Path, group: Any, *, read_only: bool, cache_bytes: int) -> None:
        meta = read_meta(path, group)
        self.path = path
        self._group = group
        self.read_only = read_only
        self.width: int = meta["width"]
        self.height: int = meta["height"]
        self.chunk: int = meta["chunk"]
        self._sizes = overviews.level_sizes(self.width, self.height, meta["overview_limit"])
        if len(self._sizes) != meta["levels"]:
            raise LabelError(f"label store {path}: attribute 'levels' does not match its size")
        self._meta = meta
        self._max_instance: int = meta["max_instance"]
        arrays = {}
        for layer in LAYERS:
            for level, (w, h) in enumerate(self._sizes):
                name = f"{layer}/{level}"
                arr = member(path, group, name)
                if tuple(arr.shape) != (h, w):
                    raise LabelError(
                        f"label store {path}: array {name} is {arr.shape[1]}x{arr.shape[0]}, "
                        f"expected {w}x{h}; the store is damaged, restore it from a backup"
                    )
                arrays[name] = arr
        self._counts_array = member(path, group, "labelled_per_chunk")
        try:
            self._counts = np.asarray(self._counts_array[...], dtype=np.int64)
        except Exception as exc:  # a damaged chunk file; zarr raises codec-specific types
            raise LabelError(
                f"label store {path}: labelled_per_chunk cannot be read ({exc}); "
                "restore the store from a backup"
            ) from exc
        self._cache = ChunkCache(
            arrays, chunk=self.chunk, max_bytes=cache_bytes, on_load=self._loaded, root=path
        )
        self.recorder: WriteRecorder | None = None
        self.classes: tuple[ClassInfo, ...] = ()

    # -- creating and opening -------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        width: int,
        height: int,
        chunk: int = 512,
        overview_limit: int = 512,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> LabelStore:
        """Create an empty store (all UNLABELLED, no instances); instant at any size.

        Raises
        ------
        LabelError
            If ``path`` exists or the sizes are not positive.
        """
        import zarr
        from zarr.codecs import ZstdCodec

        path = Path(path)
        if width < 1 or height < 1 or chunk < 8 or overview_limit < 1:
            raise LabelError(
                f"cannot create label store {path}: need width, height >= 1, chunk >= 8 and "
                f"overview_limit >= 1, got {width}x{height}, chunk {chunk}, "
                f"overview_limit {overview_limit}"
            )
        if path.exists():
            raise LabelError(f"cannot create label store {path}: it already exists")
        sizes = overviews.level_sizes(width, height, overview_limit)
        tmp = path.with_name(path.name + ".creating")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            group = zarr.open_group(str(tmp), mode="w", zarr_format=3)
            for layer in LAYERS:
                for level, (w, h) in enumerate(sizes):
                    group.create_array(
                        f"{layer}/{level}",
                        shape=(h, w),
                        chunks=(chunk, chunk),
                        dtype=DTYPES[layer],
                        fill_value=FILLS[layer],
                        compressors=ZstdCodec(level=3),
                    )
            ny, nx = -(-height // chunk), -(-width // chunk)
            group.create_array(
                "labelled_per_chunk", shape=(ny, nx), chunks=(ny, nx), dtype=np.uint32, fill_value=0
            )
            meta: dict[str, Any] = {
                "kind": "label_store",
                "version": FORMAT_VERSION,
                "width": width,
                "height": height,
                "chunk": chunk,
                "overview_limit": overview_limit,
                "levels": len(sizes),
                "max_instance": 0,
            }
            group.attrs["tessera"] = meta
            os.replace(tmp, path)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise LabelError(f"cannot create label store {path}: {exc}") from exc
        return cls.open(path, cache_bytes=cache_bytes)

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        expect_size: tuple[int, int] | None = None,
        read_only: bool = False,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> LabelStore:
        """Open an existing store; ``expect_size=(width, height)`` checks it fits its image.

        Raises
        ------
        LabelError
            If the store is missing, damaged, too new, or its size differs from ``expect_size``.
        """
        import zarr

        path = Path(path)
        if not (path / "zarr.json").is_file():
            raise LabelError(f"no label store at {path}: zarr.json is missing")
        try:
            group = zarr.open_group(str(path), mode="r" if read_only else "r+", zarr_format=3)
        except Exception as exc:  # zarr raises many types for a damaged group
            raise LabelError(f"cannot open label store {path}: {exc}") from exc
        store = cls(path, group, read_only=read_only, cache_bytes=cache_bytes)
        if expect_size is not None and tuple(expect_size) != (store.width, store.height):
            w, h = expect_size
            raise LabelError(
                f"label store {path} is {store.width}x{store.height} pixels but its image is "
                f"{w}x{h}; it belongs to another image: relocate the right image or move the "
                "store away to start new labels"
            )
        return store

    # -- geometry -------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def level_count(self) -> int:
        return len(self._sizes)

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        """Nominal downsample of each level: 1, 2, 4, ..."""
        return tuple(float(2**k) for k in range(len(self._sizes)))

    def level_size(self, level: int) -> tuple[int, int]:
        """(width, height) of ``level``."""
        self._check_level(level)
        return self._sizes[level]

    def bounds(self) -> Box:
        return Box(0, 0, self.width, self.height)

    # -- pixels ---------------------------------------------------------------

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> np.ndarray:
        """Window of one layer at one level, shape ``(h, w)``; outside is fill."""
        self._check_layer(layer)
        self._check_level(level)
        return self._cache.read(f"{layer}/{level}", Box(x, y, w, h), FILLS[layer])

    def read_box(self, layer: Layer, box: Box, *, level: int = 0) -> np.ndarray:
        return self.read(layer, box.x, box.y, box.w, box.h, level=level)

    def write(
        self, layer: Layer, x: int, y: int, array: np.ndarray, *, overviews: bool = True
    ) -> Box:
        """Write a level-0 window of one layer; returns the box written.

        With ``overviews`` the levels above are updated for that box at once;
        pass False when writing many windows and call :meth:`update_overviews` after.
        """
        self._check_layer(layer)
        if self.read_only:
            raise LabelError(f"label store {self.path} was opened read-only")
        array = np.asarray(array)
        if array.ndim != 2 or array.dtype != DTYPES[layer]:
            raise LabelError(
                f"{layer} window must be a 2-D {np.dtype(DTYPES[layer]).name} array, "
                f"got shape {array.shape} {array.dtype}"
            )
        box = Box(x, y, int(array.shape[1]), int(array.shape[0]))
        if box.is_empty:
            return Box.empty()
        if box.clip(self.width, self.height) != box:
            raise LabelError(
                f"window {box} reaches outside the {self.width}x{self.height} label store "
                f"{self.path}; clip it to the image first"
            )
        if self.recorder is not None:
            self.recorder.before_write(self, box)
        if layer == "semantic":
            old = self._cache.read("semantic/0", box, UNLABELLED)
            self._cache.write("semantic/0", x, y, array)
            self._count_change(box, old, array)
        elif array.size:
            self._cache.write("instance/0", x, y, array)
            self._max_instance = max(self._max_instance, int(array.max()))
        if overviews:
            self.update_overviews([box], layers=(layer,))
        return box

    def update_overviews(self, boxes: list[Box], *, layers: tuple[Layer, ...] = LAYERS) -> None:
        """Recompute every overview above the level-0 ``boxes``."""
        for layer in layers:
            overviews.update(self._cache, self._sizes, self.chunk, layer, boxes)

    def rebuild_overviews(self) -> None:
        """Recompute all overviews from level 0 (repair; reads the whole map)."""
        for layer in LAYERS:
            overviews.rebuild(self._cache, self._sizes, self.chunk, layer)

    def chunk_arrays(self, cy: int, cx: int) -> tuple[np.ndarray, np.ndarray]:
        """Live level-0 (semantic, instance) chunk arrays; do not write into them."""
        return self._cache.chunk("semantic/0", cy, cx), self._cache.chunk("instance/0", cy, cx)

    # -- instances and progress -----------------------------------------------

    @property
    def max_instance(self) -> int:
        """Highest instance id ever used in this store (ids are never reused)."""
        return self._max_instance

    def next_instance_id(self) -> int:
        """Reserve and return a fresh instance id."""
        self._max_instance += 1
        return self._max_instance

    def note_max_instance(self, value: int) -> None:
        """Raise the highest-id mark to at least ``value`` (journal replay)."""
        self._max_instance = max(self._max_instance, value)

    @property
    def labelled_pixels(self) -> int:
        return int(self._counts.sum())

    @property
    def labelled_fraction(self) -> float:
        """Share of pixels with a class (0..1), from per-chunk counts: no scan."""
        return self.labelled_pixels / (self.width * self.height)

    def labelled_chunks(self, box: Box | None = None) -> Iterator[tuple[int, int]]:
        """(cy, cx) of level-0 chunks holding any labelled pixel, optionally within ``box``."""
        area = self.bounds() if box is None else box.clip(self.width, self.height)
        for cy, cx in area.chunks(self.chunk):
            if self._counts[cy, cx] > 0:
                yield cy, cx

    # -- saving ---------------------------------------------------------------

    def flush(self) -> None:
        """Write cached edits, counts and attributes to disk and fsync them.

        Raises
        ------
        OSError
            If the disk refuses (full, read-only); the chunks already on disk
            stay whole because zarr writes each through a temporary file.
        """
        if self.read_only:
            return
        self._cache.flush()
        self._counts_array[...] = self._counts.astype(np.uint32)
        meta = dict(self._meta, max_instance=self._max_instance)
        if meta != self._meta:
            self._group.attrs["tessera"] = meta
            self._meta = meta
        self._sync_files()

    def hold_writes(self, hold: bool) -> None:
        """While held, chunks written stay in memory (Editor: one per open action).

        Releasing makes them evictable again; they are still dirty until written.
        """
        if hold:
            self._cache.pinning = True
        else:
            self._cache.unpin()

    def write_back(self, seconds: float = 0.05) -> int:
        """Write cached edits to disk for about ``seconds`` (idle time); returns dirty left.

        Not a checkpoint (no fsync, counts not saved): it only keeps later cache
        evictions, and :meth:`flush`, short.
        """
        if self.read_only:
            return 0
        return self._cache.write_back(seconds)

    def close(self) -> None:
        """Flush and forget cached chunks."""
        self.flush()
        self._cache.drop()

    def _sync_files(self) -> None:
        dirs = {self.path, self.path / "labelled_per_chunk"}
        files = [self.path / "zarr.json", self.path / "labelled_per_chunk" / "c" / "0" / "0"]
        for name, cy, cx in self._cache.written:
            files.append(self.path / name / "c" / str(cy) / str(cx))
        for f in files:
            dirs.add(f.parent)
            if f.is_file():
                fsync_path(f, os.O_RDONLY)
        for d in dirs:
            if d.is_dir():
                fsync_path(d, os.O_RDONLY)
        self._cache.written.clear()

    # -- internals ------------------------------------------------------------

    def _loaded(self, name: str, cy: int, cx: int, data: np.ndarray) -> None:
        if name == "semantic/0":
            self._counts[cy, cx] = int(np.count_nonzero(data != UNLABELLED))

    def _count_change(self, box: Box, old: np.ndarray, new: np.ndarray) -> None:
        """Update per-chunk labelled counts from a window's old and new values."""
        c = self.chunk
        for cy, cx in box.chunks(c):
            part = box.intersect(Box(cx * c, cy * c, c, c))
            sl = part.slices(box)
            gained = np.count_nonzero(new[sl] != UNLABELLED)
            lost = np.count_nonzero(old[sl] != UNLABELLED)
            self._counts[cy, cx] += int(gained) - int(lost)

    def _check_layer(self, layer: str) -> None:
        if layer not in LAYERS:
            raise LabelError(f"unknown label layer {layer!r}; use 'semantic' or 'instance'")

    def _check_level(self, level: int) -> None:
        if not 0 <= level < len(self._sizes):
            raise LabelError(
                f"label store {self.path} has levels 0..{len(self._sizes) - 1}, not {level}"
            )
