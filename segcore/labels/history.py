"""Undo/redo: a bounded list of (box, old values, new values) records.

An edit runs inside a :class:`Transaction`. Before a level-0 chunk is first
changed, the transaction copies that chunk (both layers). When the edit ends,
each touched chunk is compared with its copy, and only the bounding box of
what changed in it is kept, compressed, as a :class:`Patch` holding the old and
the new values. A stroke of 1,000 dabs is one :class:`Record` whose patches
cover only the chunks it crossed, whatever the size of the map.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from segcore.labels.box import Box, chunk_box, union_all
from segcore.labels.store import LabelStore

DEFAULT_HISTORY_BYTES = 256 * 1024 * 1024
RAW_BYTES = 64 * 1024 * 1024  # an open action keeps this much of plain chunk copies
Side = Literal["old", "new"]
ChunkKey = tuple[int, int, int]  # (slice, chunk row, chunk column)


def _codec() -> Any:
    from numcodecs import Zstd

    return Zstd(level=1)


def pack(semantic: np.ndarray, instance: np.ndarray) -> bytes:
    """Both layers of one window as one compressed blob."""
    raw = (
        np.ascontiguousarray(semantic, np.uint8).tobytes()
        + np.ascontiguousarray(instance, np.uint32).astype("<u4", copy=False).tobytes()
    )
    return bytes(_codec().encode(raw))


def unpack(blob: bytes, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack` for a window of ``box``'s size."""
    raw = bytes(_codec().decode(blob))
    n = box.w * box.h
    if len(raw) != n * 5:
        raise ValueError(f"patch of {box} holds {len(raw)} bytes, expected {n * 5}")
    sem = np.frombuffer(raw, np.uint8, n).reshape(box.h, box.w).copy()
    inst = np.frombuffer(raw, "<u4", n, offset=n).astype(np.uint32).reshape(box.h, box.w)
    return sem, inst


@dataclass(frozen=True)
class Patch:
    """Old and new values of both layers in one box (inside one chunk) of slice ``plane``."""

    box: Box
    old: bytes
    new: bytes
    plane: int = 0  # the slice of a label volume; 0 in a 2-D store


@dataclass(frozen=True)
class Record:
    """One undoable action: its name, its patches and their union box."""

    name: str
    patches: tuple[Patch, ...]
    max_instance: int

    @property
    def box(self) -> Box:
        return union_all(p.box for p in self.patches)

    @property
    def nbytes(self) -> int:
        return sum(len(p.old) + len(p.new) + 64 for p in self.patches)

    def inverted(self) -> Record:
        """The record that undoes this one (old and new swapped)."""
        patches = tuple(Patch(p.box, p.new, p.old, p.plane) for p in self.patches)
        return replace(self, name=f"undo {self.name}", patches=patches)


def apply_patches(store: LabelStore, patches: tuple[Patch, ...], side: Side) -> Box:
    """Write the ``side`` values of every patch, then update overviews once per slice.

    Each patch goes to its own slice (``store.plane(patch.plane)``).
    """
    boxes: dict[int, list[Box]] = {}
    for p in patches:
        plane = store.plane(p.plane)
        sem, inst = unpack(p.new if side == "new" else p.old, p.box)
        plane.write("semantic", p.box.x, p.box.y, sem, overviews=False)
        plane.write("instance", p.box.x, p.box.y, inst, overviews=False)
        boxes.setdefault(p.plane, []).append(p.box)
    for z, plane_boxes in boxes.items():
        store.plane(z).update_overviews(plane_boxes)
    return union_all(b for bs in boxes.values() for b in bs)


def planes_of(patches: tuple[Patch, ...]) -> list[int]:
    """The slices a record's patches change, in order."""
    return sorted({p.plane for p in patches})


class Transaction:
    """Collects the old values of every chunk an edit touches (a store recorder).

    Chunks are keyed ``(slice, row, column)``: one action may change several
    slices of a volume (a 3-D fill, an interpolation) and is still one record.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._before: dict[ChunkKey, tuple[np.ndarray, np.ndarray] | bytes] = {}
        self._touched: dict[ChunkKey, list[int]] = {}  # chunk-local x0, y0, x1, y1
        self._raw: deque[ChunkKey] = deque()  # chunks whose copy is still plain
        self._raw_bytes = 0

    def before_write(self, store: LabelStore, box: Box) -> None:
        c, z = store.chunk, store.z
        for cy, cx in box.chunks(c):
            x0, y0 = max(box.x - cx * c, 0), max(box.y - cy * c, 0)
            x1, y1 = min(box.x1 - cx * c, c), min(box.y1 - cy * c, c)
            region = self._touched.get((z, cy, cx))
            if region is None:
                sem, inst = store.chunk_arrays(cy, cx)
                self._before[(z, cy, cx)] = (sem.copy(), inst.copy())
                self._touched[(z, cy, cx)] = [x0, y0, x1, y1]
                self._raw.append((z, cy, cx))
                self._raw_bytes += sem.nbytes + inst.nbytes
                self._compress_oldest(store)
            else:
                region[0], region[1] = min(region[0], x0), min(region[1], y0)
                region[2], region[3] = max(region[2], x1), max(region[3], y1)

    @property
    def touched(self) -> bool:
        return bool(self._before)

    def chunks(self, store: LabelStore) -> list[tuple[int, int]]:
        """(cy, cx) of every chunk of ``store``'s slice the open action has changed so far."""
        return sorted((cy, cx) for z, cy, cx in self._before if z == store.z)

    def old_chunk(self, store: LabelStore, cy: int, cx: int) -> tuple[np.ndarray, np.ndarray]:
        """Both layers of chunk (cy, cx) as they were before the action (do not modify)."""
        return self._copy(store, (store.z, cy, cx))

    def old_window(self, store: LabelStore, layer: str, box: Box) -> np.ndarray:
        """``layer`` inside ``box`` (within the image) as it was before the action."""
        out = store.read_box("semantic" if layer == "semantic" else "instance", box)
        c = store.chunk
        for cy, cx in box.chunks(c):
            if (store.z, cy, cx) not in self._before:
                continue
            cbox = chunk_box(cy, cx, c, store.width, store.height)
            part = cbox.intersect(box)
            old = self._copy(store, (store.z, cy, cx))[0 if layer == "semantic" else 1]
            out[part.slices(box)] = old[part.slices(cbox)]
        return out

    def finish(self, store: LabelStore) -> Record | None:
        """The record of what changed, or None when nothing did."""
        patches = []
        for z, cy, cx in sorted(self._before):
            cbox = chunk_box(cy, cx, store.chunk, store.width, store.height)
            old_sem, old_inst = self._copy(store, (z, cy, cx))
            new_sem, new_inst = store.plane(z).chunk_arrays(cy, cx)
            x0, y0, x1, y1 = self._touched[(z, cy, cx)]
            area = (slice(y0, y1), slice(x0, x1))  # only where writes happened
            changed = (old_sem[area] != new_sem[area]) | (old_inst[area] != new_inst[area])
            rows = np.flatnonzero(changed.any(axis=1))
            if rows.size == 0:
                continue
            cols = np.flatnonzero(changed.any(axis=0))
            local = Box.from_bounds(
                x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1
            )
            sl = local.slices()
            box = Box(cbox.x + local.x, cbox.y + local.y, local.w, local.h)
            patches.append(
                Patch(box, pack(old_sem[sl], old_inst[sl]), pack(new_sem[sl], new_inst[sl]), z)
            )
        self._forget()
        if not patches:
            return None
        return Record(self.name, tuple(patches), store.max_instance)

    def rollback(self, store: LabelStore) -> Box:
        """Put every touched chunk back as it was; returns the box restored."""
        boxes: dict[int, list[Box]] = {}
        for key in self._before:
            z, cy, cx = key
            plane = store.plane(z)
            cbox = chunk_box(cy, cx, store.chunk, store.width, store.height)
            old_sem, old_inst = self._copy(store, key)
            plane.write("semantic", cbox.x, cbox.y, old_sem, overviews=False)
            plane.write("instance", cbox.x, cbox.y, old_inst, overviews=False)
            boxes.setdefault(z, []).append(cbox)
        for z, plane_boxes in boxes.items():
            store.plane(z).update_overviews(plane_boxes)
        self._forget()
        return union_all(b for bs in boxes.values() for b in bs)

    def _copy(self, store: LabelStore, key: ChunkKey) -> tuple[np.ndarray, np.ndarray]:
        saved = self._before[key]
        if isinstance(saved, bytes):
            _, cy, cx = key
            return unpack(saved, chunk_box(cy, cx, store.chunk, store.width, store.height))
        return saved

    def _compress_oldest(self, store: LabelStore) -> None:
        """Keep at most RAW_BYTES of plain copies; older ones are compressed (huge edits)."""
        while self._raw_bytes > RAW_BYTES and self._raw:
            key = self._raw.popleft()
            sem, inst = self._copy(store, key)
            self._before[key] = pack(sem, inst)
            self._raw_bytes -= sem.nbytes + inst.nbytes

    def _forget(self) -> None:
        self._before.clear()
        self._touched.clear()
        self._raw.clear()
        self._raw_bytes = 0


class History:
    """Undo and redo stacks of records, holding at most ``max_bytes`` (oldest go first)."""

    def __init__(self, *, max_bytes: int = DEFAULT_HISTORY_BYTES) -> None:
        self.max_bytes = max_bytes
        self._done: deque[Record] = deque()
        self._undone: list[Record] = []
        self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def __len__(self) -> int:
        return len(self._done)

    def push(self, record: Record) -> None:
        """Add a new action; clears the redo stack, drops the oldest past the cap."""
        for r in self._undone:
            self._bytes -= r.nbytes
        self._undone.clear()
        self._done.append(record)
        self._bytes += record.nbytes
        while self._bytes > self.max_bytes and self._done:
            self._bytes -= self._done.popleft().nbytes

    def pop_undo(self) -> Record | None:
        """The record to undo (moved to the redo stack), or None."""
        if not self._done:
            return None
        record = self._done.pop()
        self._undone.append(record)
        return record

    def pop_redo(self) -> Record | None:
        """The record to redo (moved back to the undo stack), or None."""
        if not self._undone:
            return None
        record = self._undone.pop()
        self._done.append(record)
        return record

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._bytes = 0
