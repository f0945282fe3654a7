"""A bounded write-back cache of decoded zarr chunks.

zarr's own array API decodes and re-encodes a whole chunk for every small
window written, which costs milliseconds per brush dab on every pyramid level.
Edits instead go to decoded chunks held here; dirty chunks are encoded and
written when evicted (least recently used first) or on :meth:`flush`. Nothing
is lost by holding them: every committed edit is also in the project journal.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import Box, chunk_box

Key = tuple[str, int, int]  # (array name, chunk row, chunk column)


def chunk_path(root: Path, key: Key) -> Path:
    """File of a level chunk: ``name/c/row/col``, or ``name/c/z/row/col`` for ``name@z``.

    A label volume's plane ``z`` of array ``semantic/0`` is cached as ``semantic/0@z``.

    >>> chunk_path(Path("s"), ("semantic/0@4", 1, 2)).as_posix()
    's/semantic/0/c/4/1/2'
    """
    name, cy, cx = key
    array, _, z = name.partition("@")
    parts = ("c", z, str(cy), str(cx)) if z else ("c", str(cy), str(cx))
    return root.joinpath(array, *parts)


class ChunkCache:
    """Decoded chunks of several 2-D arrays sharing one square chunk size.

    An array is anything sliced like a 2-D zarr array: a label volume passes
    one plane view per slice (:class:`~segcore.labels.planes.PlaneArray`).

    Parameters
    ----------
    arrays
        zarr arrays by name, e.g. ``{"semantic/0": arr, ...}``.
    chunk
        Chunk side in pixels (the arrays' chunk shape is ``(chunk, chunk)``).
    max_bytes
        Clean and dirty chunks together stay under this many bytes (at least
        a few chunks are always kept).
    on_load
        Called with ``(name, cy, cx, data)`` after a chunk is read from disk.
    root
        Directory of a local zarr group holding the arrays: a chunk whose file
        is absent is then made from the fill value without asking zarr (which
        costs about a millisecond per absent chunk).
    """

    def __init__(
        self,
        arrays: dict[str, Any],
        *,
        chunk: int,
        max_bytes: int,
        on_load: Callable[[str, int, int, np.ndarray], None] | None = None,
        root: Path | None = None,
    ) -> None:
        self._arrays = arrays
        self._shapes = {n: (int(a.shape[0]), int(a.shape[1])) for n, a in arrays.items()}
        self._dtypes = {n: a.dtype for n, a in arrays.items()}
        self._root = root
        self._chunk = chunk
        self._max_bytes = max_bytes
        self._on_load = on_load
        self._chunks: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._dirty: set[Key] = set()
        self._bytes = 0
        self.written: set[Key] = set()  # keys written to disk since the last clear
        # While an edit is open, chunks it wrote stay in memory (up to twice the
        # cap), so a crash cannot leave half an uncommitted stroke on disk.
        self.pinning = False
        self._pinned: set[Key] = set()

    def shape(self, name: str) -> tuple[int, int]:
        """(height, width) of an array."""
        return self._shapes[name]

    def chunk(self, name: str, cy: int, cx: int) -> np.ndarray:
        """The decoded chunk (clipped at the array edge); a live, writable view."""
        key = (name, cy, cx)
        data = self._chunks.get(key)
        if data is not None:
            self._chunks.move_to_end(key)
            return data
        h, w = self._shapes[name]
        box = chunk_box(cy, cx, self._chunk, w, h)
        arr = self._arrays[name]
        if self._root is not None and not chunk_path(self._root, key).exists():
            data = np.full((box.h, box.w), arr.fill_value, dtype=arr.dtype)
        else:
            try:
                data = np.array(arr[box.y : box.y1, box.x : box.x1], copy=True)
            except Exception as exc:  # codec errors of a damaged chunk file, of any type
                where = chunk_path(self._root, key) if self._root else name
                raise LabelError(
                    f"label chunk {where} cannot be read ({exc}); the file is damaged: "
                    "restore the label store from a backup, or find every damaged chunk "
                    "with 'tessera project check --deep' and accept the loss"
                ) from exc
        self._chunks[key] = data
        self._bytes += data.nbytes
        if self._on_load is not None:
            self._on_load(name, cy, cx, data)
        self._evict(keep=key)
        return data

    # read and write are the brush's hot path: plain integer arithmetic, no Box objects.

    def read(self, name: str, box: Box, fill: int) -> np.ndarray:
        """Pixels of ``box``; parts outside the array are ``fill``."""
        h, w = self._shapes[name]
        bx, by, bw, bh = box.x, box.y, max(box.w, 0), max(box.h, 0)
        x0, y0, x1, y1 = max(bx, 0), max(by, 0), min(bx + bw, w), min(by + bh, h)
        c = self._chunk
        inside = bw > 0 and bh > 0 and (x0, y0, x1, y1) == (bx, by, bx + bw, by + bh)
        if inside and x0 // c == (x1 - 1) // c and y0 // c == (y1 - 1) // c:
            cy, cx = y0 // c, x0 // c  # the whole window lies in one chunk
            data = self.chunk(name, cy, cx)
            return data[y0 - cy * c : y1 - cy * c, x0 - cx * c : x1 - cx * c].copy()
        out = np.full((bh, bw), fill, dtype=self._dtypes[name])
        for cy in range(y0 // c, (y1 - 1) // c + 1) if y0 < y1 else ():
            for cx in range(x0 // c, (x1 - 1) // c + 1) if x0 < x1 else ():
                px0, py0 = max(x0, cx * c), max(y0, cy * c)
                px1, py1 = min(x1, cx * c + c), min(y1, cy * c + c)
                out[py0 - by : py1 - by, px0 - bx : px1 - bx] = self.chunk(name, cy, cx)[
                    py0 - cy * c : py1 - cy * c, px0 - cx * c : px1 - cx * c
                ]
        return out

    def write(self, name: str, x: int, y: int, data: np.ndarray) -> list[tuple[int, int]]:
        """Copy ``data`` in at ``(x, y)`` (must lie inside); returns chunks touched."""
        c = self._chunk
        x1, y1 = x + int(data.shape[1]), y + int(data.shape[0])
        touched = []
        for cy in range(y // c, (y1 - 1) // c + 1):
            for cx in range(x // c, (x1 - 1) // c + 1):
                px0, py0 = max(x, cx * c), max(y, cy * c)
                px1, py1 = min(x1, cx * c + c), min(y1, cy * c + c)
                self.chunk(name, cy, cx)[
                    py0 - cy * c : py1 - cy * c, px0 - cx * c : px1 - cx * c
                ] = data[py0 - y : py1 - y, px0 - x : px1 - x]
                self._dirty.add((name, cy, cx))
                if self.pinning:
                    self._pinned.add((name, cy, cx))
                touched.append((cy, cx))
        return touched

    def put(self, name: str, cy: int, cx: int, data: np.ndarray) -> None:
        """Replace a whole chunk without reading it (its file may be missing or damaged)."""
        key = (name, cy, cx)
        old = self._chunks.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._chunks[key] = data
        self._bytes += data.nbytes
        self._dirty.add(key)
        self._evict(keep=key)

    def unpin(self) -> None:
        """End pinning: chunks written by the closed edit may be evicted again."""
        self.pinning = False
        self._pinned.clear()

    def flush(self) -> None:
        """Write every dirty chunk to its array."""
        for key in sorted(self._dirty):
            self._store(key)
        self._dirty.clear()

    def drop(self) -> None:
        """Forget every cached chunk, dirty or not (after a failed flush, or on close)."""
        self._chunks.clear()
        self._dirty.clear()
        self._bytes = 0

    def _store(self, key: Key) -> None:
        name, cy, cx = key
        h, w = self._shapes[name]
        box = chunk_box(cy, cx, self._chunk, w, h)
        self._arrays[name][box.y : box.y1, box.x : box.x1] = self._chunks[key]
        self.written.add(key)

    def write_back(self, seconds: float) -> int:
        """Write dirty chunks, least recently used first, for about ``seconds``.

        Meant for idle time (the GUI calls it from a timer), so that later
        evictions find clean chunks and cost nothing. Returns how many dirty
        chunks are left.
        """
        deadline = time.perf_counter() + seconds
        for key in [k for k in self._chunks if k in self._dirty and k not in self._pinned]:
            if time.perf_counter() >= deadline:
                break
            self._store(key)
            self._dirty.discard(key)
        return len(self._dirty)

    def _evict(self, keep: Key) -> None:
        # Clean chunks go first (free); dirty ones are written on the way out;
        # pinned ones only past twice the cap. Evicting down to 3/4 of the cap
        # at once makes pauses rarer.
        if self._bytes <= self._max_bytes:
            return
        target = self._max_bytes * 3 // 4
        for stage in ("clean", "dirty", "pinned"):
            if stage == "pinned" and self._bytes <= 2 * self._max_bytes:
                return
            for key in list(self._chunks):
                if self._bytes <= target or len(self._chunks) <= 8:
                    return
                if key == keep:  # the chunk being handed out right now
                    continue
                if key in self._dirty:
                    if stage == "clean" or (stage == "dirty" and key in self._pinned):
                        continue
                    self._store(key)
                    self._dirty.discard(key)
                    self._pinned.discard(key)
                self._bytes -= self._chunks.pop(key).nbytes
