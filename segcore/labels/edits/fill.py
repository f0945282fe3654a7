"""Flood fill of a label region, relabelling a class or an instance, and mapping all classes.

Both work chunk by chunk, so a region as large as the image is filled with the
memory of a few chunks.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import Box, chunk_box
from segcore.labels.edits.common import Paint, changed_box, check_seed, paint_mask, replace_value
from segcore.labels.reader import Layer
from segcore.labels.schema import NO_INSTANCE, UNLABELLED
from segcore.labels.store import LabelStore


def _structure(connectivity: int) -> np.ndarray:
    if connectivity == 4:
        return np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    if connectivity == 8:
        return np.ones((3, 3), bool)
    raise LabelError(f"connectivity must be 4 or 8, got {connectivity}")


def flood_fill(
    store: LabelStore,
    x: int,
    y: int,
    *,
    paint: Paint,
    connectivity: Literal[4, 8] = 4,
    max_pixels: int | None = None,
) -> Box:
    """Paint the connected region of pixels with the same (class, instance) as ``(x, y)``.

    Raises
    ------
    LabelError
        If the region exceeds ``max_pixels`` (inside an :class:`Editor` action the
        part already filled is rolled back).
    """
    from scipy import ndimage

    check_seed(store, x, y)
    structure = _structure(connectivity)
    t_sem = int(store.read("semantic", x, y, 1, 1)[0, 0])
    t_inst = int(store.read("instance", x, y, 1, 1)[0, 0])
    if (t_sem, t_inst) == (paint.class_id, paint.instance_id):
        return Box.empty()
    c = store.chunk
    pending: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    pending[(y // c, x // c)].append((x, y))
    out = Box.empty()
    filled = 0
    while pending:
        (cy, cx), seeds = pending.popitem()
        cbox = chunk_box(cy, cx, c, store.width, store.height)
        same = (store.read_box("semantic", cbox) == t_sem) & (
            store.read_box("instance", cbox) == t_inst
        )
        labels, _ = ndimage.label(same, structure=structure)
        hit = {int(labels[sy - cbox.y, sx - cbox.x]) for sx, sy in seeds} - {0}
        if not hit:
            continue
        region = np.isin(labels, list(hit))
        filled += int(region.sum())
        if max_pixels is not None and filled > max_pixels:
            raise LabelError(
                f"the fill region at ({x}, {y}) is larger than {max_pixels} pixels; "
                "close its outline or use a polygon"
            )
        out = out.union(paint_mask(store, cbox, region, paint))
        for key, pts in _border_seeds(region, cbox, connectivity, store).items():
            pending[key].extend(pts)
    return out


def _border_seeds(
    region: np.ndarray, cbox: Box, connectivity: int, store: LabelStore
) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Pixels just outside ``cbox`` next to ``region``'s border pixels, by chunk."""
    out: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    offsets = (-1, 0, 1) if connectivity == 8 else (0,)
    ys, xs = np.nonzero(region)
    edge = (ys == 0) | (xs == 0) | (ys == cbox.h - 1) | (xs == cbox.w - 1)
    for ly, lx in zip(ys[edge].tolist(), xs[edge].tolist(), strict=True):
        gx, gy = cbox.x + lx, cbox.y + ly
        candidates = []
        if lx == 0:
            candidates += [(gx - 1, gy + d) for d in offsets]
        if lx == cbox.w - 1:
            candidates += [(gx + 1, gy + d) for d in offsets]
        if ly == 0:
            candidates += [(gx + d, gy - 1) for d in offsets]
        if ly == cbox.h - 1:
            candidates += [(gx + d, gy + 1) for d in offsets]
        for nx, ny in candidates:
            if 0 <= nx < store.width and 0 <= ny < store.height and not cbox.contains(nx, ny):
                out[(ny // store.chunk, nx // store.chunk)].append((nx, ny))
    return out


def _area_chunks(store: LabelStore, box: Box | None, labelled_only: bool) -> list[Box]:
    """Windows (chunk ∩ box) to visit, skipping chunks with no labels when allowed."""
    area = store.bounds() if box is None else box.clip(store.width, store.height)
    keys = store.labelled_chunks(area) if labelled_only else area.chunks(store.chunk)
    return [
        chunk_box(cy, cx, store.chunk, store.width, store.height).intersect(area) for cy, cx in keys
    ]


def relabel_class(
    store: LabelStore,
    old: int,
    new: int,
    *,
    box: Box | None = None,
    clear_instances: bool = False,
) -> Box:
    """Change class ``old`` to ``new`` within ``box`` (default: the whole store).

    Instance ids are kept unless ``clear_instances`` (always cleared when ``new``
    is UNLABELLED). Relabelling UNLABELLED visits every chunk of the area.
    """
    for value in (old, new):
        if not 0 <= value <= UNLABELLED:
            raise LabelError(f"class ids must be 0..255, got {value}")
    if old == new:
        return Box.empty()
    clear = clear_instances or new == UNLABELLED
    windows = _area_chunks(store, box, labelled_only=old != UNLABELLED)
    other: tuple[Layer, int] | None = ("instance", NO_INSTANCE) if clear else None
    return replace_value(store, windows, "semantic", old, new, other=other)


def relabel_instance(store: LabelStore, old: int, new: int, *, box: Box | None = None) -> Box:
    """Change instance id ``old`` to ``new`` (classes untouched) within ``box`` or everywhere."""
    if old == NO_INSTANCE or not 0 <= new < 2**32:
        raise LabelError(f"cannot relabel instance {old} to {new}: ids must be 1..2**32-1")
    if old == new:
        return Box.empty()
    windows = _area_chunks(store, box, labelled_only=True)
    return replace_value(store, windows, "instance", old, new)


def map_classes(store: LabelStore, table: np.ndarray, *, stuff: frozenset[int]) -> Box:
    """Rewrite every class id through ``table`` ((256,) uint8), chunk by chunk.

    Pixels whose new class is UNLABELLED or a ``stuff`` class lose their
    instance id (even where the id number stays the same); instances of classes
    that stay things keep theirs (ids are unique in a store, so merging two thing
    classes keeps every object apart).
    Only chunks holding labels are read; a label volume is rewritten slice by
    slice. Returns the box of the changed pixels (in-plane, over all slices).
    """
    if table.shape != (256,) or table.dtype != np.uint8 or int(table[UNLABELLED]) != UNLABELLED:
        raise LabelError("a class table maps 256 ids as uint8 and keeps 255 unlabelled")
    clear = np.zeros(256, bool)
    clear[list(stuff | {UNLABELLED})] = True
    out = Box.empty()
    for z in range(store.depth):  # every slice of a label volume, not only the current one
        out = out.union(_map_plane(store.plane(z), table, clear))
    return out


def _map_plane(store: LabelStore, table: np.ndarray, clear: np.ndarray) -> Box:
    out = Box.empty()
    for window in _area_chunks(store, None, labelled_only=True):
        sem = store.read_box("semantic", window)
        new = table[sem]
        inst = store.read_box("instance", window)
        changed = new != sem
        lost = clear[new] & (inst != NO_INSTANCE)
        if not changed.any() and not lost.any():
            continue
        changed |= lost
        store.write("semantic", window.x, window.y, new, overviews=False)
        if lost.any():
            inst[lost] = NO_INSTANCE
            store.write("instance", window.x, window.y, inst, overviews=False)
        store.update_overviews([window])
        out = out.union(changed_box(changed, window))
    return out
