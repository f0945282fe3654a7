"""Repairs of a label store after a loss: forget lost chunks, recount labels.

Used when a project accepts the loss of chunk files that ``storecheck`` found
missing or damaged; the old files are never read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import chunk_box
from segcore.labels.reader import DTYPES, FILLS, LAYERS, Layer
from segcore.labels.schema import UNLABELLED

if TYPE_CHECKING:
    from segcore.labels.store import LabelStore


def forget_chunks(
    store: LabelStore, chunks: list[tuple[int, ...]], *, layers: tuple[Layer, ...] = LAYERS
) -> None:
    """Make ``layers`` of the level-0 ``chunks`` empty: written afresh, counts and the
    overviews above them follow. A chunk is (row, column) of ``store``'s slice, or
    (slice, row, column) of a label volume."""
    if store.read_only:
        raise LabelError(f"label store {store.path} was opened read-only")
    by_plane: dict[int, list[tuple[int, int]]] = {}
    for *zs, cy, cx in chunks:
        by_plane.setdefault(zs[0] if zs else store.z, []).append((cy, cx))
    for z, keys in by_plane.items():
        plane = store.plane(z)
        boxes = []
        for cy, cx in keys:
            box = chunk_box(cy, cx, plane.chunk, plane.width, plane.height)
            for layer in layers:
                plane.put_chunk(layer, cy, cx, np.full((box.h, box.w), FILLS[layer], DTYPES[layer]))
            boxes.append(box)
        plane.update_overviews(boxes, layers=layers)


def recount(store: LabelStore, counts: np.ndarray) -> None:
    """Recompute ``counts`` (the store's per-chunk counts, every slice) from its class
    chunk files."""
    from segcore.labels.storecheck import chunk_files

    counts[...] = 0
    ny, nx = counts.shape[-2:]
    for key in chunk_files(store.path / "semantic" / "0", ndim=counts.ndim):
        *zs, cy, cx = key
        if cy < ny and cx < nx and all(z < store.depth for z in zs):
            data = store.plane(zs[0] if zs else 0).chunk_arrays(cy, cx)[0]
            counts[key] = int(np.count_nonzero(data != UNLABELLED))
