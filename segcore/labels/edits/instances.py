"""Instances: select, merge, split by a drawn line, delete.

New ids come from :meth:`LabelStore.next_instance_id` (the store keeps the
highest id ever used, so ids are never reused). Where an instance lies is found
from ``near=(x, y)`` by following it from chunk to chunk across chunk borders,
within ``box`` if given, or else in every labelled chunk of the store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import Box, chunk_box, union_all
from segcore.labels.edits.common import changed_box, check_seed, replace_value
from segcore.labels.edits.paint import Point, check_points, segment_mask
from segcore.labels.schema import NO_INSTANCE, UNLABELLED
from segcore.labels.store import LabelStore

_MAX_SPLIT_PIXELS = 64 * 1024 * 1024


def instance_at(store: LabelStore, x: int, y: int) -> int:
    """Instance id under a point (0 if none)."""
    check_seed(store, x, y)
    return int(store.read("instance", x, y, 1, 1)[0, 0])


def instance_chunks(
    store: LabelStore,
    instance_id: int,
    *,
    near: tuple[int, int] | None = None,
    box: Box | None = None,
) -> list[Box]:
    """Chunk windows holding pixels of ``instance_id`` (see the module doc)."""
    if instance_id == NO_INSTANCE:
        raise LabelError("instance id 0 means 'no instance' and cannot be edited as one")
    c = store.chunk

    def has(cy: int, cx: int) -> np.ndarray:
        return np.asarray(store.chunk_arrays(cy, cx)[1] == instance_id)

    if near is None:
        keys = list(store.labelled_chunks(box))
        return [
            chunk_box(cy, cx, c, store.width, store.height) for cy, cx in keys if has(cy, cx).any()
        ]
    check_seed(store, *near)
    ny, nx = -(-store.height // c), -(-store.width // c)
    start = [
        (cy, cx)
        for cy in range(near[1] // c - 1, near[1] // c + 2)
        for cx in range(near[0] // c - 1, near[0] // c + 2)
        if 0 <= cy < ny and 0 <= cx < nx
    ]
    seen, todo, found = set(start), list(start), []
    while todo:
        cy, cx = todo.pop()
        m = has(cy, cx)
        if not m.any():
            continue
        found.append(chunk_box(cy, cx, c, store.width, store.height))
        rows, cols = np.asarray(m.any(axis=1)), np.asarray(m.any(axis=0))
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                touches = (dy != -1 or rows[0]) and (dy != 1 or rows[-1])
                touches = touches and (dx != -1 or cols[0]) and (dx != 1 or cols[-1])
                key = (cy + dy, cx + dx)
                if touches and 0 <= key[0] < ny and 0 <= key[1] < nx and key not in seen:
                    seen.add(key)
                    todo.append(key)
    return found


def _nearest_part(labels: np.ndarray, order: np.ndarray, under: np.ndarray) -> np.ndarray:
    """``labels`` with each ``under`` pixel given its nearest part (ties: the larger part)."""
    from scipy import ndimage

    out = labels.copy()
    if len(order) > 16:  # many fragments: one transform, ties as scipy breaks them
        idx = ndimage.distance_transform_edt(
            labels == 0, return_distances=False, return_indices=True
        )
        out[under] = labels[idx[0], idx[1]][under]
        return out
    best = np.full(labels.shape, np.inf)
    for comp in order:  # largest first, so a tie keeps the larger part
        dist = ndimage.distance_transform_edt(labels != comp)
        closer = under & (dist < best)
        out[closer] = comp
        best = np.where(closer, dist, best)
    return out


def delete_instance(
    store: LabelStore,
    instance_id: int,
    *,
    near: tuple[int, int] | None = None,
    box: Box | None = None,
) -> Box:
    """Remove an instance: its pixels become UNLABELLED with no instance."""
    windows = instance_chunks(store, instance_id, near=near, box=box)
    return replace_value(
        store, windows, "instance", instance_id, NO_INSTANCE, other=("semantic", UNLABELLED)
    )


def merge_instances(
    store: LabelStore,
    ids: Sequence[int],
    *,
    into: int | None = None,
    near: tuple[int, int] | None = None,
    box: Box | None = None,
) -> Box:
    """Give every pixel of ``ids`` the id ``into`` (default: the smallest); classes kept."""
    if not ids:
        return Box.empty()
    target = min(ids) if into is None else into
    if target == NO_INSTANCE:
        raise LabelError("cannot merge into instance 0 ('no instance'); use delete")
    out = Box.empty()
    for i in ids:
        if i != target:
            windows = instance_chunks(store, i, near=near, box=box)
            out = out.union(replace_value(store, windows, "instance", i, target))
    return out


def split_instance(
    store: LabelStore,
    instance_id: int,
    line: Sequence[Point],
    *,
    near: tuple[int, int] | None = None,
    box: Box | None = None,
    width: float = 1.0,
) -> Box:
    """Cut an instance along a polyline; each resulting 4-connected part becomes an instance.

    The largest part keeps ``instance_id``; the others get new ids (larger parts
    first). Pixels under the line join the nearest part. Returns the box of
    pixels whose id changed (empty when the line does not cut the instance).
    """
    from scipy import ndimage

    pts = check_points(line, 2, "a split line")
    if near is None and box is None:
        near = (int(round(pts[0][0])), int(round(pts[0][1])))
        near = (min(max(near[0], 0), store.width - 1), min(max(near[1], 0), store.height - 1))
    windows = instance_chunks(store, instance_id, near=near, box=box)
    area = union_all(windows)
    if area.is_empty:
        return Box.empty()
    if area.area > _MAX_SPLIT_PIXELS:
        raise LabelError(
            f"instance {instance_id} spans {area.w}x{area.h} pixels, too large to split at once"
        )
    inst = store.read_box("instance", area)
    mask = inst == instance_id
    cut = np.zeros_like(mask)
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        cut |= segment_mask(area, a, b, width / 2)
    labels, n = ndimage.label(mask & ~cut)
    if n <= 1:
        return Box.empty()
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    order = np.argsort(-sizes, kind="stable") + 1  # component labels, largest first
    new_id = np.zeros(n + 1, np.uint32)
    new_id[order[0]] = instance_id
    for comp in order[1:]:
        new_id[comp] = store.next_instance_id()
    filled = _nearest_part(labels, order, mask & cut)
    out_ids = inst.copy()
    out_ids[mask] = new_id[filled[mask]]
    changed = out_ids != inst
    tight = changed_box(changed, area)
    if tight.is_empty:
        return tight
    store.write("instance", tight.x, tight.y, out_ids[tight.slices(area)])
    return tight
