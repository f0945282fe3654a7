"""Objects stay separate unless asked: a stroke away from the current object is a new one.

A thing-class stroke paints the editor's *current* instance. When none of
the pixels it gave that instance touches (8-neighbourhood) a pixel the
instance had before the stroke, the stroke is a different object:
:func:`split_off` moves its pixels to a fresh instance id, inside the same
open action (so it is one undo record). Only the chunks the stroke changed
are read, each with a one-pixel ring around it.
"""

from __future__ import annotations

import numpy as np

from segcore.labels.box import Box, chunk_box
from segcore.labels.history import Transaction
from segcore.labels.schema import NO_INSTANCE
from segcore.labels.store import LabelStore

_RING = np.ones((3, 3), bool)


def stroke_pixels(
    store: LabelStore, tx: Transaction, instance: int
) -> list[tuple[Box, np.ndarray]]:
    """(chunk box, mask) of the pixels the open action gave ``instance``, chunk by chunk."""
    out = []
    for cy, cx in tx.chunks(store):
        old = tx.old_chunk(store, cy, cx)[1]
        new = store.chunk_arrays(cy, cx)[1]
        mask = (new == instance) & (old != instance)
        if mask.any():
            out.append((chunk_box(cy, cx, store.chunk, store.width, store.height), mask))
    return out


def touches(
    store: LabelStore, tx: Transaction, instance: int, pieces: list[tuple[Box, np.ndarray]]
) -> bool:
    """True when a stroke pixel is next to a pixel ``instance`` had before the action."""
    from scipy import ndimage

    for cbox, mask in pieces:
        ring = cbox.pad(1).clip(store.width, store.height)
        before = tx.old_window(store, "instance", ring) == instance
        if not before.any():
            continue
        grown = np.zeros(before.shape, bool)
        grown[cbox.slices(ring)] = mask
        grown = ndimage.binary_dilation(grown, structure=_RING)
        if (grown & before).any():
            return True
    return False


def split_off(store: LabelStore, tx: Transaction, instance: int) -> int | None:
    """Give the stroke's pixels of ``instance`` a new id when they do not touch the
    instance's earlier pixels; returns the new id, or None when nothing moved."""
    if instance == NO_INSTANCE:
        return None
    pieces = stroke_pixels(store, tx, instance)
    if not pieces or touches(store, tx, instance, pieces):
        return None
    new_id = store.next_instance_id()
    for cbox, mask in pieces:
        values = store.read_box("instance", cbox)
        values[mask] = new_id
        store.write("instance", cbox.x, cbox.y, values, overviews=False)
    store.update_overviews([cbox for cbox, _ in pieces], layers=("instance",))
    return new_id
