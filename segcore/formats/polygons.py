"""Polygons for the outline formats (labelme, YOLO): trace in paint order, fill back.

Polygon formats cannot hold holes, so shapes are written largest box first:
filling them back in order paints a region inside another's hole over it.
Labels survive exactly where shapes have no holes holding unlabelled pixels
and no one-pixel-wide parts; otherwise the formats are approximations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from segcore.formats.base import LabelReader
from segcore.formats.export import scaled
from segcore.formats.segments import Segment, crop_polygons, scan_segments, segment_mask
from segcore.jobs import Job, Progress

Outline = tuple[Segment, list[list[float]]]


def trace_outlines(labels: LabelReader, *, window: int, simplify: float) -> Job[list[Outline]]:
    """Every segment with its polygons, largest bounding box first (``yield from`` it)."""
    width, height = labels.width, labels.height
    total = 2 * width * height
    segments = yield from scaled(scan_segments(labels, window), 0, total // 2, total)
    segments.sort(key=lambda s: -(s.x1 - s.x0) * (s.y1 - s.y0))
    out: list[Outline] = []
    done = total // 2
    for seg in segments:
        mask = segment_mask(labels, seg)
        out.append((seg, crop_polygons(mask, seg.x0, seg.y0, simplify=simplify)))
        done += seg.area
        yield Progress(min(done, total), total)
    return out


def fill_polygon(
    target: NDArray[np.generic], points: Sequence[tuple[float, float]], value: int
) -> NDArray[np.bool_]:
    """Paint ``value`` inside the polygon (vertices at pixel centres); return its mask."""
    import cv2

    mask = np.zeros(target.shape[:2], np.uint8)
    pts = np.round(np.asarray(points, np.float64)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(mask, [pts], 1)
    hit = mask.astype(bool)
    target[hit] = value
    return hit
