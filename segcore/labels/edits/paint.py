"""Brush, eraser, polygon, lasso and rectangle.

Pixel ``(col, row)`` has its centre at ``(col, row)``. A disk paints the pixels
whose centre lies within ``radius`` of its centre; a stroke paints every pixel
within ``radius`` of the polyline (the limit of infinitely dense dabs, so it is
continuous however fast the mouse moves); a polygon paints its interior and its
outline (OpenCV ``fillPoly`` on vertices rounded to pixels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.edits.common import ERASE, Paint, paint_tiles
from segcore.labels.store import LabelStore

Point = tuple[float, float]
_MAX_SEGMENT = 256.0  # long segments are cut so each window stays small


def _check_radius(radius: float) -> None:
    if not (math.isfinite(radius) and 0 <= radius <= 4096):
        raise LabelError(f"brush radius must be 0..4096 pixels, got {radius}")


def check_points(points: Sequence[Point], least: int, what: str) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < least:
        raise LabelError(f"{what} needs at least {least} (x, y) points, got {len(points)}")
    if not np.isfinite(pts).all():
        raise LabelError(f"{what} points must be finite numbers")
    return pts


def segment_mask(window: Box, a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Pixels of ``window`` whose centre is within ``radius`` of segment a-b."""
    ys, xs = np.ogrid[window.y : window.y1, window.x : window.x1]
    d = b - a
    length2 = float(d @ d)
    if length2 == 0:
        t: np.ndarray | float = 0.0
    else:
        t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / length2, 0.0, 1.0)
    dx = xs - (a[0] + t * d[0])
    dy = ys - (a[1] + t * d[1])
    mask: np.ndarray = dx * dx + dy * dy <= radius * radius + 1e-9
    return mask


class _SegmentMask:
    def __init__(self, a: np.ndarray, b: np.ndarray, radius: float) -> None:
        self.a, self.b, self.radius = a, b, radius

    def __call__(self, window: Box) -> np.ndarray:
        return segment_mask(window, self.a, self.b, self.radius)


def _segment_box(a: np.ndarray, b: np.ndarray, radius: float) -> Box:
    x0 = math.floor(min(a[0], b[0]) - radius)
    y0 = math.floor(min(a[1], b[1]) - radius)
    x1 = math.floor(max(a[0], b[0]) + radius) + 1
    y1 = math.floor(max(a[1], b[1]) + radius) + 1
    return Box.from_bounds(x0, y0, x1, y1)


def paint_disk(store: LabelStore, *, cx: float, cy: float, radius: float, paint: Paint) -> Box:
    """Paint one brush dab.

    >>> paint_disk(store, cx=3, cy=3, radius=1, paint=Paint(2))  # doctest: +SKIP
    Box(x=2, y=2, w=3, h=3)      # a plus sign: (3,2), (2,3), (3,3), (4,3), (3,4)
    """
    return paint_stroke(store, [(cx, cy)], radius=radius, paint=paint)


def paint_stroke(store: LabelStore, points: Sequence[Point], *, radius: float, paint: Paint) -> Box:
    """Paint every pixel within ``radius`` of the polyline through ``points``."""
    _check_radius(radius)
    pts = check_points(points, 1, "a stroke")
    if len(pts) == 1:
        pts = np.vstack([pts, pts])
    out = Box.empty()
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        pieces = max(1, math.ceil(float(np.hypot(*(b - a))) / _MAX_SEGMENT))
        for k in range(pieces):
            p0 = a + (b - a) * (k / pieces)
            p1 = a + (b - a) * ((k + 1) / pieces)
            area = _segment_box(p0, p1, radius)
            out = out.union(paint_tiles(store, area, _SegmentMask(p0, p1, radius), paint))
    return out


def erase_stroke(store: LabelStore, points: Sequence[Point], *, radius: float) -> Box:
    """Erase (back to UNLABELLED, no instance) within ``radius`` of the polyline."""
    return paint_stroke(store, points, radius=radius, paint=ERASE)


def paint_polygon(store: LabelStore, points: Sequence[Point], *, paint: Paint) -> Box:
    """Fill a polygon (interior and outline), vertices rounded to pixel centres."""
    import cv2

    pts = np.round(check_points(points, 3, "a polygon")).astype(np.int64)
    area = Box.from_bounds(
        int(pts[:, 0].min()),
        int(pts[:, 1].min()),
        int(pts[:, 0].max()) + 1,
        int(pts[:, 1].max()) + 1,
    )

    def mask_of(window: Box) -> np.ndarray:
        canvas = np.zeros((window.h, window.w), np.uint8)
        shifted = (pts - [window.x, window.y]).astype(np.int32)
        cv2.fillPoly(canvas, [shifted], 1)
        cv2.polylines(canvas, [shifted], True, 1)
        return canvas.astype(bool)

    return paint_tiles(store, area, mask_of, paint)


def paint_lasso(store: LabelStore, points: Sequence[Point], *, paint: Paint) -> Box:
    """Fill a freehand outline (a polygon through every recorded mouse position)."""
    return paint_polygon(store, points, paint=paint)


def paint_rectangle(store: LabelStore, box: Box, *, paint: Paint) -> Box:
    """Fill ``box`` (clipped to the image)."""
    if box.is_empty:
        return Box.empty()
    return paint_tiles(store, box, lambda w: np.ones((w.h, w.w), bool), paint)
