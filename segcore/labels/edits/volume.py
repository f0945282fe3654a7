"""Edits of a label volume that reach past the current slice.

Each takes the current slice's store (``Editor.store``, a plane of the
volume) like every other edit, reads the slices it needs through
``store.plane(z)`` and writes through the same planes, so one
``Editor.apply`` is one undo record however many slices it changes.

They work one slice at a time on whole slices (a CT slice is 512 x 512), so
memory is a few slices, never the volume.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import Box, union_all
from segcore.labels.edits.common import Paint, check_seed, mask_bbox, paint_mask
from segcore.labels.schema import UNLABELLED
from segcore.labels.store import LabelStore

SIX_NEIGHBOURS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)


def _plane_maps(store: LabelStore) -> tuple[np.ndarray, np.ndarray]:
    return (
        store.read("semantic", 0, 0, store.width, store.height),
        store.read("instance", 0, 0, store.width, store.height),
    )


def _check_slice(store: LabelStore, z: int) -> None:
    if not 0 <= z < store.depth:
        raise LabelError(f"slice {z} is outside the volume's slices 0..{store.depth - 1}")


def copy_slice(store: LabelStore, from_z: int, *, only_unlabelled: bool = False) -> Box:
    """Copy the labels (classes and instances) of slice ``from_z`` into ``store``'s slice.

    With ``only_unlabelled`` pixels already labelled here keep their labels.
    """
    _check_slice(store, from_z)
    if from_z == store.z:
        return Box.empty()
    src_sem, src_inst = _plane_maps(store.plane(from_z))
    sem, inst = _plane_maps(store)
    take = src_sem != UNLABELLED
    if only_unlabelled:
        take &= sem == UNLABELLED
    else:
        take |= sem != UNLABELLED  # erase what the other slice does not have
    change = take & ((sem != src_sem) | (inst != src_inst))
    box = mask_bbox(change)
    if box.is_empty:
        return box
    sl = box.slices()
    new_sem, new_inst = sem[sl].copy(), inst[sl].copy()
    m = change[sl]
    new_sem[m], new_inst[m] = src_sem[sl][m], src_inst[sl][m]
    store.write("semantic", box.x, box.y, new_sem, overviews=False)
    store.write("instance", box.x, box.y, new_inst, overviews=False)
    store.update_overviews([box])
    return box


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance from each pixel centre to the mask's edge (which runs half a
    pixel outside its outer pixels): negative inside, positive outside.

    >>> signed_distance(np.array([[0, 1, 1, 1, 0]], bool)).tolist()
    [[0.5, -0.5, -1.5, -0.5, 0.5]]
    """
    from scipy import ndimage

    if not mask.any():
        return np.full(mask.shape, np.inf)
    outside = ndimage.distance_transform_edt(~mask)
    inside = ndimage.distance_transform_edt(mask)
    return np.asarray(np.where(mask, 0.5 - inside, outside - 0.5), dtype=np.float64)


def interpolate_class(store: LabelStore, class_id: int, z0: int, z1: int, *, paint: Paint) -> Box:
    """Fill ``class_id`` on the slices strictly between ``z0`` and ``z1`` (shape-based).

    The class's signed distance maps on the two slices are blended linearly
    by slice position (Raya and Udupa's shape-based interpolation); the
    pixels where the blend is negative get ``paint``
    where they are unlabelled or already ``class_id`` (other classes are left
    alone). Shapes that do not overlap between the two slices give nothing in
    between (the usual limit of distance-map interpolation: draw a slice in the middle).

    Raises
    ------
    LabelError
        If a slice is outside the volume, or the class is missing on either slice.
    """
    _check_slice(store, z0)
    _check_slice(store, z1)
    z0, z1 = min(z0, z1), max(z0, z1)
    masks = [
        store.plane(z).read("semantic", 0, 0, store.width, store.height) == class_id
        for z in (z0, z1)
    ]
    for z, m in zip((z0, z1), masks, strict=True):
        if not m.any():
            raise LabelError(f"class {class_id} has no pixels on slice {z}; label it there first")
    area = mask_bbox(masks[0] | masks[1]).pad(1).clip(store.width, store.height)
    d0, d1 = (signed_distance(m[area.slices()]) for m in masks)
    boxes = []
    for z in range(z0 + 1, z1):
        t = (z - z0) / (z1 - z0)
        inside = (1 - t) * d0 + t * d1 < 0
        plane = store.plane(z)
        here = plane.read_box("semantic", area)
        inside &= (here == UNLABELLED) | (here == class_id)
        boxes.append(paint_mask(plane, area, inside, paint))
    return union_all(boxes)


def fill_3d(
    store: LabelStore, x: int, y: int, *, paint: Paint, max_voxels: int | None = None
) -> Box:
    """Paint the 3-D region (6-connected) of voxels with the class and instance of the
    seed ``(x, y)`` on ``store``'s slice, slice after slice. Returns the union of
    the boxes painted on every slice.

    Raises
    ------
    LabelError
        If the region passes ``max_voxels`` (inside an Editor action, what was
        already painted is rolled back).
    """
    from scipy import ndimage

    check_seed(store, x, y)
    target = (
        int(store.read("semantic", x, y, 1, 1)[0, 0]),
        int(store.read("instance", x, y, 1, 1)[0, 0]),
    )
    if target == (paint.class_id, paint.instance_id):
        return Box.empty()
    seeds = np.zeros((store.height, store.width), bool)
    seeds[y, x] = True
    todo: deque[tuple[int, np.ndarray]] = deque([(store.z, seeds)])
    boxes, filled = [], 0
    while todo:
        z, seed = todo.popleft()
        plane = store.plane(z)
        sem, inst = _plane_maps(plane)
        same = (sem == target[0]) & (inst == target[1])
        labels, _ = ndimage.label(same, structure=SIX_NEIGHBOURS)
        hit = np.unique(labels[seed & same])
        hit = hit[hit != 0]
        if hit.size == 0:
            continue
        region = np.isin(labels, hit)
        filled += int(np.count_nonzero(region))
        if max_voxels is not None and filled > max_voxels:
            raise LabelError(
                f"the 3-D fill from ({x}, {y}) on slice {store.z} passes {max_voxels} voxels; "
                "close the region's outline or fill slice by slice"
            )
        boxes.append(paint_mask(plane, Box(0, 0, store.width, store.height), region, paint))
        for nz in (z - 1, z + 1):
            if 0 <= nz < store.depth:
                todo.append((nz, region))
    return union_all(boxes)


def interpolation_span(labelled: np.ndarray, z: int) -> tuple[int, int] | None:
    """The two labelled slices to interpolate between, seen from slice ``z``.

    ``labelled`` holds each slice's labelled pixel count (``store.slice_counts()``).
    From a labelled slice: it and the next labelled slice above (else below);
    from an unlabelled one: the nearest labelled slices below and above. None
    when there are no two such slices.

    >>> interpolation_span(np.array([0, 5, 0, 0, 7, 0, 3]), 2)
    (1, 4)
    >>> interpolation_span(np.array([0, 5, 0, 0, 7, 0, 3]), 4)
    (4, 6)
    >>> interpolation_span(np.array([0, 5, 0, 0, 7, 0, 0]), 5) is None
    True
    """
    marked = np.flatnonzero(np.asarray(labelled) > 0)
    below, above = marked[marked < z], marked[marked > z]
    if z in marked:
        if above.size:
            return z, int(above[0])
        return (int(below[-1]), z) if below.size else None
    if below.size and above.size:
        return int(below[-1]), int(above[0])
    return None


def side_view(store: LabelStore, *, column: int | None = None, row: int | None = None,
              level: int = 0) -> np.ndarray:  # fmt: skip
    """A sagittal (``column``) or coronal (``row``) reformat of a label volume's classes.

    Returns ``(depth, height)`` for a column or ``(depth, width)`` for a row, slice 0
    first, read at overview ``level`` (coordinates in level-0 pixels): one line of
    each slice, so the cost is the slices' chunks, never the volume.
    """
    if (column is None) == (row is None):
        raise LabelError("give a column (sagittal view) or a row (coronal view)")
    down = 2**level
    w, h = store.level_size(level)
    lines = []
    for z in range(store.depth):
        plane = store.plane(z)
        if column is not None:
            x = min(max(column // down, 0), w - 1)
            lines.append(plane.read("semantic", x, 0, 1, h, level=level)[:, 0])
        else:
            y = min(max(int(row or 0) // down, 0), h - 1)
            lines.append(plane.read("semantic", 0, y, w, 1, level=level)[0])
    return np.stack(lines)
