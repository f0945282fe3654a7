"""Training targets of an instance model, derived from an instance map.

For instance ids (0 = no object) the targets are the dense maps of
:mod:`segcore.models.instance`: foreground (id > 0), boundary (object pixels
next to a pixel of another id, background included: scikit-image's inner
boundaries) and distance (Euclidean distance to the object's outline divided
by its largest value, per object). Objects cut by the window edge would get a
wrong distance (they are only partly seen): with ``cut_edges`` their distance
target is -1, which the loss leaves out.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from segcore.models.instance import BOUNDARY, DENSE, DISTANCE, FOREGROUND


def dense_targets(
    instances: NDArray[np.integer], *, cut_edges: bool = False
) -> NDArray[np.float32]:
    """(3, h, w) float32 foreground, boundary and normalised distance targets.

    With ``cut_edges`` objects touching the window's edge get distance -1 (unknown).

    >>> t = dense_targets(np.array([[0, 1, 1, 1, 0]]))
    >>> t[0].tolist(), t[1].tolist()
    ([[0.0, 1.0, 1.0, 1.0, 0.0]], [[0.0, 1.0, 0.0, 1.0, 0.0]])
    """
    from scipy import ndimage
    from skimage.segmentation import find_boundaries

    inst = np.asarray(instances).astype(np.int64)
    out = np.zeros((len(DENSE), *inst.shape), np.float32)
    fg = inst > 0
    out[FOREGROUND] = fg
    out[BOUNDARY] = find_boundaries(inst, mode="inner") & fg  # type: ignore[no-untyped-call]
    ids, dense_ids = np.unique(inst, return_inverse=True)
    labels = dense_ids.reshape(inst.shape)
    if ids[0] != 0:
        labels = labels + 1
    dist = out[DISTANCE]
    edge = set()
    if cut_edges:
        rim = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
        edge = set(np.unique(rim).tolist())
    for k, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        mask = labels[box] == k
        if k in edge and inst[box][mask][0] != 0:
            dist[box][mask] = -1.0
            continue
        d = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        dist[box][mask] = (d[mask] / max(float(d.max()), 1.0)).astype(np.float32)
    return out
