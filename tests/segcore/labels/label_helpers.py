"""Helpers shared by the label tests (imported by name; the test dirs are not packages)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segcore.labels.store import LabelStore

StoreFactory = Callable[..., LabelStore]


def maps(store: LabelStore, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Both layers of a small store in full."""
    w, h = store.level_size(level)
    return (
        store.read("semantic", 0, 0, w, h, level=level),
        store.read("instance", 0, 0, w, h, level=level),
    )


def grid(text: str) -> np.ndarray:
    """A uint8 map from rows of characters: '.' = UNLABELLED, digits = classes."""
    rows = [r.strip() for r in text.strip().splitlines()]
    return np.array([[255 if c == "." else int(c) for c in r] for r in rows], np.uint8)
