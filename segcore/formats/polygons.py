"""Polygons for the outline formats (COCO polygons, labelme, YOLO, vectors).

:func:`crop_polygons` traces pixel-centre outlines (OpenCV), :func:`edge_polygons`
pixel-edge outlines (rasterio, COCO's convention). Polygon formats cannot hold
holes, so :func:`trace_outlines` writes shapes largest box first:
filling them back in order paints a region inside another's hole over it.
Labels survive exactly where shapes have no holes holding unlabelled pixels
and no one-pixel-wide parts; otherwise the formats are approximations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from segcore.jobs import Job, Progress, scaled
from segcore.labels.reader import LabelReader
from segcore.labels.segments import Segment, scan_segments, segment_mask

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


def crop_polygons(
    mask: NDArray[np.bool_], x0: int, y0: int, *, simplify: float = 0.0
) -> list[list[float]]:
    """Outer contours of a box mask as flat ``[x1, y1, x2, y2, ...]`` lists in image pixels.

    Vertices are pixel centres of the boundary pixels (OpenCV's convention),
    so filling the polygon with OpenCV gives the pixels back for shapes
    without holes. Lines and single pixels become degenerate 3-vertex polygons.
    """
    import cv2

    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    out: list[list[float]] = []
    for contour in contours:
        if simplify > 0:
            contour = cv2.approxPolyDP(contour, simplify, True)
        points = contour.reshape(-1, 2).astype(np.float64) + (x0, y0)
        if len(points) < 3:  # a one-pixel-wide line or a single pixel: repeat its points
            points = np.resize(points, (3, 2))
        out.append(points.ravel().tolist())
    return out


def edge_polygons(
    mask: NDArray[np.bool_], x0: int, y0: int, *, simplify: float = 0.0
) -> list[list[float]]:
    """Outer outlines along pixel edges, as flat ``[x1, y1, ...]`` lists in image pixels.

    Vertices are pixel corners (COCO's convention: pixel ``(x, y)`` covers
    ``[x, x + 1] x [y, y + 1]``), traced by ``rasterio.features.shapes``, so
    pycocotools rasterises them back to exactly the same pixels for shapes
    without holes (holes cannot be written as COCO polygons).
    """
    import shapely
    from rasterio.features import shapes

    offset = (1.0, 0.0, float(x0), 0.0, 1.0, float(y0))
    out: list[list[float]] = []
    for geom, _ in shapes(mask.astype(np.uint8), mask=mask, connectivity=4, transform=offset):
        ring = shapely.geometry.shape(geom).exterior
        if simplify > 0:
            ring = ring.simplify(simplify)
        out.append([float(v) for xy in list(ring.coords)[:-1] for v in xy])
    return out
