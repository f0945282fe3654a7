"""Label maps for format tests: hypothesis strategy and comparison helpers."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from segcore.labels.schema import ClassInfo

# stuff 0 and 1, things 2 and 3 (class ids 1..65 for things keep Cityscapes happy)
CLASSES = [
    ClassInfo(0, "ground", (90, 90, 90)),
    ClassInfo(1, "water", (0, 0, 200)),
    ClassInfo(2, "car", (200, 0, 0), thing=True),
    ClassInfo(3, "person", (0, 200, 0), thing=True),
]


@st.composite
def label_maps(draw: st.DrawFn, max_side: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """(class map uint8, instance map uint32): stuff rectangles, objects, a crowd, unlabelled."""
    h = draw(st.integers(3, max_side))
    w = draw(st.integers(3, max_side))
    classes = np.full((h, w), draw(st.sampled_from([0, 1, 255])), np.uint8)
    instances = np.zeros((h, w), np.uint32)

    def box() -> tuple[slice, slice]:
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0 + 1, h)), draw(st.integers(x0 + 1, w))
        return slice(y0, y1), slice(x0, x1)

    for _ in range(draw(st.integers(0, 3))):  # stuff and unlabelled regions
        where = box()
        classes[where] = draw(st.sampled_from([0, 1, 255]))
        instances[where] = 0
    ids = draw(st.lists(st.integers(1, 5000), min_size=0, max_size=6, unique=True))
    for k in ids:  # objects with scattered ids
        where = box()
        classes[where] = draw(st.sampled_from([2, 3]))
        instances[where] = k
    if draw(st.booleans()):  # a crowd: thing pixels without an instance
        where = box()
        classes[where] = 2
        instances[where] = 0
    return classes, instances


def same_instances(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` and ``b`` group pixels into the same objects (ids may differ; 0 = 0)."""
    if a.shape != b.shape or not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return pairs.shape[1] == len(np.unique(a)) == len(np.unique(b))


def ranked(instances: np.ndarray) -> np.ndarray:
    """Instance ids renumbered 1..n in increasing order of the original ids (0 stays 0)."""
    values, inverse = np.unique(instances, return_inverse=True)
    out = inverse.reshape(instances.shape).astype(np.uint32)
    return out if values[0] == 0 else out + 1
