"""How many labelled pixels each class has, over every image of a project.

Only chunks that the stores' per-chunk counts say hold labels are read, one at
a time, so the cost follows the labelled area, not the images' size, and
memory stays at one chunk. Images whose labels are damaged (``project.damage``)
are skipped; never-labelled images have no store and cost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from segcore.labels.schema import UNLABELLED

if TYPE_CHECKING:
    from segcore.project.project import Project


def class_pixel_counts(project: Project) -> np.ndarray:
    """Labelled pixels (voxels) per class id, shape ``(256,)``; the unlabelled entry is 0."""
    total = np.zeros(256, dtype=np.int64)
    for entry in project.images:
        if entry.id in project.damage:
            continue
        if entry.id not in project._stores and not project.label_store_path(entry.id).exists():
            continue  # never labelled
        store = project.label_store(entry.id)
        for z in range(store.depth):
            plane = store.plane(z)
            for cy, cx in plane.labelled_chunks():
                semantic, _ = plane.chunk_arrays(cy, cx)
                total += np.bincount(semantic.ravel(), minlength=256)
    total[UNLABELLED] = 0
    return total
