"""Paint a mask found on a window of any level into the level-0 labels.

A mask on a level-k window covers up to ``S * 2**k`` level-0 pixels a side,
so it is never upsampled whole: level-0 rows are painted in bands, each
band's pixels looked up in the window mask (nearest level pixel).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from segcore.labels.box import Box
from segcore.labels.edits.common import Paint, mask_bbox, paint_mask
from segcore.labels.store import LabelStore
from segcore.prompt.geometry import Window

BAND_PIXELS = 1 << 22  # level-0 pixels painted per band


def paint_window_mask(store: LabelStore, window: Window, mask: np.ndarray, *, paint: Paint) -> Box:
    """Write ``paint`` where ``mask`` ((h, w) over ``window``) is True; returns the box painted."""
    tight = mask_bbox(mask)
    if tight.is_empty:
        return Box.empty()
    part = mask[tight.slices()]
    lx, ly = window.x + tight.x, window.y + tight.y  # level pixels
    x0, y0 = math.floor(lx * window.fx), math.floor(ly * window.fy)
    x1 = min(math.ceil((lx + tight.w) * window.fx), store.width)
    y1 = min(math.ceil((ly + tight.h) * window.fy), store.height)
    if x1 <= x0 or y1 <= y0:
        return Box.empty()
    cols = np.clip(
        np.floor((np.arange(x0, x1) + 0.5) / window.fx).astype(np.int64) - lx, 0, tight.w - 1
    )
    painted = Box.empty()
    band = max(1, BAND_PIXELS // (x1 - x0))
    for top in range(y0, y1, band):
        bottom = min(top + band, y1)
        rows = np.floor((np.arange(top, bottom) + 0.5) / window.fy).astype(np.int64) - ly
        block = part[np.clip(rows, 0, tight.h - 1)][:, cols]
        box = paint_mask(store, Box(x0, top, x1 - x0, bottom - top), block, paint)
        painted = painted.union(box)
    return painted


def paint_window_masks(
    store: LabelStore, window: Window, masks: list[np.ndarray], *, paint_for: Callable[[], Paint]
) -> Box:
    """Paint several masks of one window, each with ``paint_for()`` (a new object each)."""
    painted = Box.empty()
    for mask in masks:
        painted = painted.union(paint_window_mask(store, window, mask, paint=paint_for()))
    return painted
