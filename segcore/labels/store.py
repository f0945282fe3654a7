"""The label store: one image's class map and instance map, chunked on disk.

Layout of ``<name>.zarr`` (a zarr v3 group)::

    zarr.json              attrs["tessera"]: width, height, chunk, levels, max_instance
    semantic/0 .. /k       uint8 class map and its overviews, fill UNLABELLED (255)
    instance/0 .. /k       uint32 instance ids and overviews, fill 0 (no instance)
    labelled_per_chunk     uint32 count of labelled pixels per level-0 chunk

A label volume (format version 2, ``attrs["tessera"]["depth"] > 1``) has the
same arrays with a leading slice axis, chunked one slice at a time, and counts
per slice and chunk. :meth:`LabelStore.plane` gives slice ``z`` as a 2-D store
sharing the volume's cache, so every edit, the undo history and the readers
work on a slice unchanged. A 2-D store is the one-slice case and still
writes version 1.

Nothing is written for chunks never painted, so a 100k x 100k store is a few
kilobytes until someone paints. Once written, a level-0 chunk file stays,
even when erased back to the fill value: so a chunk file that the counts say
held labels and that is gone was lost, never emptied on purpose (see
:mod:`segcore.labels.storecheck`). Chunks of new stores carry a CRC-32C, so a
damaged chunk file is refused on read instead of decoding to wrong labels.
Edits go to a bounded write-back cache (:class:`~segcore.labels.chunkcache.ChunkCache`);
:meth:`LabelStore.flush` writes them and fsyncs the chunk files.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from segcore.errors import LabelError
from segcore.labels import overviews, storerepair
from segcore.labels.box import Box
from segcore.labels.chunkcache import ChunkCache
from segcore.labels.planes import plane_name, split_name
from segcore.labels.reader import DTYPES, FILLS, LAYERS, Layer
from segcore.labels.schema import UNLABELLED, ClassInfo
from segcore.labels.storemeta import (
    DamagedStoreError,
    open_arrays,
    open_counts,
    read_meta,
    sync_files,
    write_layout,
)

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
        self.depth: int = meta["depth"]
        self.z = 0  # the slice this object reads and writes (see plane())
        self.chunk: int = meta["chunk"]
        self._sizes = overviews.level_sizes(self.width, self.height, meta["overview_limit"])
        if len(self._sizes) != meta["levels"]:
            raise DamagedStoreError(
                f"label store {path}: attribute 'levels' does not match its size"
            )
        self._shared = _Shared(meta)
        self._suffix: int | None = None if self.depth == 1 else 0
        arrays = open_arrays(path, group, self._sizes, self.depth)
        self._counts_array, self._all_counts = open_counts(path, group, self.depth)
        self._counts = self._all_counts if self.depth == 1 else self._all_counts[0]
        self._shared.planes[0] = self
        self._cache = ChunkCache(
            arrays, chunk=self.chunk, max_bytes=cache_bytes, on_load=self._loaded, root=path
        )
        self.classes: tuple[ClassInfo, ...] = ()

    # -- creating and opening -------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        width: int,
        height: int,
        depth: int = 1,
        chunk: int = 512,
        overview_limit: int = 512,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> LabelStore:
        """Create an empty store (all UNLABELLED, no instances); instant at any size.

        ``depth > 1`` makes a label volume with one label map per slice.

        Raises
        ------
        LabelError
            If ``path`` exists or the sizes are not positive.
        """
        path = Path(path)
        if width < 1 or height < 1 or depth < 1 or chunk < 8 or overview_limit < 1:
            raise LabelError(
                f"cannot create label store {path}: need width, height, depth >= 1, chunk >= 8 "
                f"and overview_limit >= 1, got {width}x{height}x{depth}, chunk {chunk}, "
                f"overview_limit {overview_limit}"
            )
        if path.exists():
            raise LabelError(f"cannot create label store {path}: it already exists")
        sizes = overviews.level_sizes(width, height, overview_limit)
        tmp = path.with_name(path.name + ".creating")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            write_layout(
                tmp,
                width=width,
                height=height,
                chunk=chunk,
                overview_limit=overview_limit,
                levels=sizes,
                depth=depth,
            )
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
            raise DamagedStoreError(f"no label store at {path}: zarr.json is missing")
        try:
            group = zarr.open_group(str(path), mode="r" if read_only else "r+", zarr_format=3)
        except Exception as exc:  # zarr raises many types for a damaged group
            raise DamagedStoreError(f"cannot open label store {path}: {exc}") from exc
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

    def plane(self, z: int) -> LabelStore:
        """Slice ``z`` as a 2-D store sharing this store's cache, counts and instance ids.

        A 2-D store is its own plane 0. The same object is returned for a
        slice every time, so a recorder set on it stays there.

        Raises
        ------
        LabelError
            If ``z`` is not a slice of the store.
        """
        if not 0 <= z < self.depth:
            raise LabelError(f"label store {self.path} has slices 0..{self.depth - 1}, not {z}")
        view = self._shared.planes.get(z)
        if view is None:
            view = copy.copy(self)
            view.z, view._suffix = z, z
            view._counts = self._all_counts[z]
            self._shared.planes[z] = view
        view.classes = self.classes
        return view

    @property
    def recorder(self) -> WriteRecorder | None:
        """Told before any slice of this store changes (one for all slices of a volume)."""
        return self._shared.recorder

    @recorder.setter
    def recorder(self, value: WriteRecorder | None) -> None:
        self._shared.recorder = value

    # -- pixels ---------------------------------------------------------------

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> np.ndarray:
        """Window of one layer at one level, shape ``(h, w)``; outside is fill."""
        self._check_layer(layer)
        self._check_level(level)
        return self._cache.read(self._name(layer, level), Box(x, y, w, h), FILLS[layer])

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
            name = self._name("semantic", 0)
            old = self._cache.read(name, box, UNLABELLED)
            self._cache.write(name, x, y, array)
            self._count_change(box, old, array)
        elif array.size:
            self._cache.write(self._name("instance", 0), x, y, array)
            self.note_max_instance(int(array.max()))
        if overviews:
            self.update_overviews([box], layers=(layer,))
        return box

    def update_overviews(self, boxes: list[Box], *, layers: tuple[Layer, ...] = LAYERS) -> None:
        """Recompute every overview above the level-0 ``boxes``."""
        for layer in layers:
            overviews.update(self._cache, self._sizes, self.chunk, layer, boxes, plane=self._suffix)

    def rebuild_overviews(self) -> None:
        """Recompute all overviews from level 0 (repair; reads the whole map)."""
        for plane in self._planes():
            for layer in LAYERS:
                overviews.rebuild(self._cache, self._sizes, self.chunk, layer, plane=plane)

    def forget_chunks(
        self, chunks: list[tuple[int, ...]], *, layers: tuple[Layer, ...] = LAYERS
    ) -> None:
        """Accept the loss of level-0 chunks, (row, column) of this slice or (slice, row,
        column) of a volume: ``layers`` there become empty (see :mod:`storerepair`)."""
        storerepair.forget_chunks(self, chunks, layers=layers)

    def recount(self) -> None:
        """Recompute the per-chunk counts from the class chunks on disk (repair; reads them)."""
        storerepair.recount(self, self._all_counts)

    def put_chunk(self, layer: Layer, cy: int, cx: int, data: np.ndarray) -> None:
        """Replace a whole level-0 chunk of this slice without reading it (repair)."""
        self._cache.put(self._name(layer, 0), cy, cx, data)
        if layer == "semantic":
            self._counts[cy, cx] = int(np.count_nonzero(data != UNLABELLED))

    def chunk_arrays(self, cy: int, cx: int) -> tuple[np.ndarray, np.ndarray]:
        """Live level-0 (semantic, instance) chunk arrays; do not write into them."""
        return (
            self._cache.chunk(self._name("semantic", 0), cy, cx),
            self._cache.chunk(self._name("instance", 0), cy, cx),
        )

    # -- instances and progress -----------------------------------------------

    @property
    def max_instance(self) -> int:
        """Highest instance id ever used in this store, all slices (ids are never reused)."""
        return self._shared.max_instance

    def next_instance_id(self) -> int:
        """Reserve and return a fresh instance id."""
        self._shared.max_instance += 1
        return self._shared.max_instance

    def note_max_instance(self, value: int) -> None:
        """Raise the highest-id mark to at least ``value`` (journal replay)."""
        self._shared.max_instance = max(self._shared.max_instance, value)

    @property
    def labelled_pixels(self) -> int:
        """Labelled pixels of the whole store (every slice of a volume)."""
        return int(self._all_counts.sum())

    @property
    def labelled_fraction(self) -> float:
        """Share of pixels (voxels) with a class (0..1), from per-chunk counts: no scan."""
        return self.labelled_pixels / (self.width * self.height * self.depth)

    def slice_counts(self) -> np.ndarray:
        """Labelled pixels of each slice, shape ``(depth,)``, from the counts: no scan."""
        counts = self._all_counts.reshape(self.depth, -1)
        return np.asarray(counts.sum(axis=1), dtype=np.int64)

    @property
    def labelled_slices(self) -> int:
        """How many slices hold any label ("12 of 189 slices labelled")."""
        return int(np.count_nonzero(self.slice_counts()))

    def labelled_chunks(self, box: Box | None = None) -> Iterator[tuple[int, int]]:
        """(cy, cx) of this slice's level-0 chunks holding any label, optionally within ``box``."""
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
        self._counts_array[...] = self._all_counts.astype(np.uint32)
        shared = self._shared
        meta = dict(shared.meta, max_instance=shared.max_instance)
        if meta != shared.meta:
            on_disk = dict(meta)
            if on_disk["depth"] == 1 and on_disk["version"] < 2:  # version 1 had no depth
                del on_disk["depth"]
            self._group.attrs["tessera"] = on_disk
            shared.meta = meta
        sync_files(self.path, self._cache.written, depth=self.depth)
        self._cache.written.clear()

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

    # -- internals ------------------------------------------------------------

    def _name(self, layer: str, level: int) -> str:
        return plane_name(f"{layer}/{level}", self._suffix)

    def _planes(self) -> list[int | None]:
        return [None] if self.depth == 1 else list(range(self.depth))

    def _loaded(self, name: str, cy: int, cx: int, data: np.ndarray) -> None:
        array, z = split_name(name)
        if array == "semantic/0":
            counts = self._all_counts if z is None else self._all_counts[z]
            counts[cy, cx] = int(np.count_nonzero(data != UNLABELLED))

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


class _Shared:
    """What the planes of one store share: its attributes, instance ids, plane views."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta
        self.max_instance: int = meta["max_instance"]
        self.planes: dict[int, LabelStore] = {}
        self.recorder: WriteRecorder | None = None
