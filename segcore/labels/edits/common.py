"""What an edit paints, and the one routine that writes a mask into the store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.reader import LAYERS, Layer
from segcore.labels.schema import NO_INSTANCE, UNLABELLED
from segcore.labels.store import LabelStore


@dataclass(frozen=True)
class Paint:
    """The values an edit writes: a class id and an instance id.

    ``instance_id`` 0 clears instances (stuff classes); a thing class paints
    with the current instance id. ``Paint(UNLABELLED)`` (:data:`ERASE`) erases.
    """

    class_id: int
    instance_id: int = NO_INSTANCE

    def __post_init__(self) -> None:
        if not 0 <= self.class_id <= UNLABELLED:
            raise LabelError(f"class id must be 0..254 (or 255 to erase), got {self.class_id}")
        if not 0 <= self.instance_id < 2**32:
            raise LabelError(f"instance id must be 0..2**32-1, got {self.instance_id}")
        if self.class_id == UNLABELLED and self.instance_id != NO_INSTANCE:
            raise LabelError("erasing (class 255) cannot paint an instance id")


ERASE = Paint(UNLABELLED, NO_INSTANCE)


def mask_bbox(mask: np.ndarray) -> Box:
    """Bounding box of the True pixels of a 2-D mask (empty if none)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return Box.empty()
    cols = np.flatnonzero(mask.any(axis=0))
    return Box.from_bounds(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def changed_box(mask: np.ndarray, origin: Box) -> Box:
    """Image-coordinate bounding box of a mask placed at ``origin``."""
    b = mask_bbox(mask)
    return b if b.is_empty else Box(origin.x + b.x, origin.y + b.y, b.w, b.h)


def paint_mask(store: LabelStore, origin: Box, mask: np.ndarray, paint: Paint) -> Box:
    """Write ``paint`` where ``mask`` (placed at ``origin``) is True.

    Parts of the mask outside the image are ignored. Returns the box of the
    pixels painted (in image coordinates), empty if none.
    """
    if mask.shape != (origin.h, origin.w):
        raise LabelError(f"mask shape {mask.shape} does not match window {origin}")
    inside = origin.clip(store.width, store.height)
    if inside.is_empty:
        return Box.empty()
    local = mask[inside.slices(origin)]
    tight = mask_bbox(local)
    if tight.is_empty:
        return Box.empty()
    box = Box(inside.x + tight.x, inside.y + tight.y, tight.w, tight.h)
    m = local[tight.slices()]
    sem = store.read_box("semantic", box)
    inst = store.read_box("instance", box)
    sem[m] = paint.class_id
    inst[m] = paint.instance_id
    store.write("semantic", box.x, box.y, sem, overviews=False)
    store.write("instance", box.x, box.y, inst, overviews=False)
    store.update_overviews([box])
    return box


def replace_value(
    store: LabelStore,
    windows: Iterable[Box],
    layer: Layer,
    old: int,
    new: int,
    *,
    other: tuple[Layer, int] | None = None,
) -> Box:
    """Turn ``old`` into ``new`` in ``layer``, window by window.

    With ``other=(layer, value)`` the same pixels of that layer become ``value``
    (clearing their instance, or erasing their class). Returns the box of the
    changed pixels.
    """
    out = Box.empty()
    for window in windows:
        values = store.read_box(layer, window)
        m = values == old
        if not m.any():
            continue
        values[m] = new
        store.write(layer, window.x, window.y, values, overviews=False)
        if other is not None:
            other_layer, value = other
            rest = store.read_box(other_layer, window)
            rest[m] = value
            store.write(other_layer, window.x, window.y, rest, overviews=False)
        store.update_overviews([window], layers=(layer,) if other is None else LAYERS)
        out = out.union(changed_box(m, window))
    return out


def paint_tiles(
    store: LabelStore,
    area: Box,
    mask_of: Callable[[Box], np.ndarray],
    paint: Paint,
    *,
    tile: int = 1024,
) -> Box:
    """Paint ``mask_of(window)`` over ``area`` window by window (bounded memory).

    ``mask_of`` gets a window (inside the image) and returns its boolean mask.
    """
    area = area.clip(store.width, store.height)
    out = Box.empty()
    for ty in range(area.y, area.y1, tile):
        for tx in range(area.x, area.x1, tile):
            window = Box.from_bounds(tx, ty, min(tx + tile, area.x1), min(ty + tile, area.y1))
            out = out.union(paint_mask(store, window, mask_of(window), paint))
    return out


def check_seed(store: LabelStore, x: int, y: int) -> None:
    """Refuse a click outside the image."""
    if not (0 <= x < store.width and 0 <= y < store.height):
        raise LabelError(
            f"point ({x}, {y}) is outside the {store.width}x{store.height} image; click inside it"
        )
