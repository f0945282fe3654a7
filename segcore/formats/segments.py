"""Find an image's segments window by window, then cut each one out.

A segment is the pixels sharing one ``(instance, class)`` pair: an object
(instance > 0), or all unlabelled-instance pixels of one class (instance 0:
a stuff region, or a "crowd" of a thing class). Object-level formats (COCO,
panoptic, labelme, YOLO) first scan the label map window by window for each
segment's bounding box and area, then read only each segment's box: memory
follows the largest segment's box, not the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.formats.base import LabelReader, windows
from segcore.jobs import Job, Progress
from segcore.labels.schema import UNLABELLED


@dataclass
class Segment:
    """One segment's identity, box (x0, y0, x1, y1; end exclusive) and pixel count."""

    instance: int
    class_id: int
    x0: int
    y0: int
    x1: int
    y1: int
    area: int

    @property
    def bbox(self) -> list[int]:
        """COCO ``[x, y, width, height]``."""
        return [self.x0, self.y0, self.x1 - self.x0, self.y1 - self.y0]

    def merge(self, other: Segment) -> None:
        self.x0, self.y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        self.x1, self.y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        self.area += other.area


def unique_inverse(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """``np.unique(values, return_inverse=True)``, fast for label maps.

    Label maps are long runs of one value, so only the first value of each run
    is sorted; the inverse is a binary search into the few unique values. On a
    2048 x 2048 window this is ~10x faster than sorting every pixel.
    """
    flat = values.ravel()
    if flat.size == 0:
        return flat[:0], np.zeros(values.shape, np.intp)
    starts = np.empty(flat.size, bool)
    starts[0] = True
    np.not_equal(flat[1:], flat[:-1], out=starts[1:])
    unique = np.unique(flat[starts])
    inverse = np.searchsorted(unique, flat).reshape(values.shape)
    return unique, inverse


def scan_segments(labels: LabelReader, window: int) -> Job[list[Segment]]:
    """Every labelled segment of ``labels``, objects by instance id then regions by class.

    Yields progress in pixels; returns the segments (``yield from`` it).
    """
    from scipy import ndimage

    found: dict[tuple[int, int], Segment] = {}
    width, height = labels.width, labels.height
    done = 0
    for x, y, w, h in windows(width, height, window):
        classes = labels.read("semantic", x, y, w, h).astype(np.uint64)
        instances = labels.read("instance", x, y, w, h).astype(np.uint64)
        keys = (instances << np.uint64(8)) | classes
        unique, inverse = unique_inverse(keys)
        areas = np.bincount(inverse.ravel(), minlength=len(unique))
        boxes = ndimage.find_objects(inverse + 1)
        for k, key in enumerate(unique.tolist()):
            class_id, instance = key & 0xFF, key >> 8
            if class_id == UNLABELLED:
                continue
            rows, cols = boxes[k]
            seg = Segment(
                instance,
                class_id,
                x + cols.start,
                y + rows.start,
                x + cols.stop,
                y + rows.stop,
                int(areas[k]),
            )
            if (instance, class_id) in found:
                found[(instance, class_id)].merge(seg)
            else:
                found[(instance, class_id)] = seg
        done += w * h
        yield Progress(done, width * height)
    objects = sorted((s for s in found.values() if s.instance), key=lambda s: s.instance)
    regions = sorted((s for s in found.values() if not s.instance), key=lambda s: s.class_id)
    return objects + regions


def segment_mask(labels: LabelReader, seg: Segment) -> NDArray[np.bool_]:
    """The segment's pixels inside its box, shape ``(y1 - y0, x1 - x0)``."""
    w, h = seg.x1 - seg.x0, seg.y1 - seg.y0
    classes = labels.read("semantic", seg.x0, seg.y0, w, h)
    instances = labels.read("instance", seg.x0, seg.y0, w, h)
    return np.asarray((classes == seg.class_id) & (instances == seg.instance))


def rle_from_crop(
    mask: NDArray[np.bool_], x0: int, y0: int, height: int, width: int
) -> dict[str, Any]:
    """COCO compressed RLE of a full ``height`` x ``width`` mask that is zero outside a box.

    COCO RLE runs down columns (Fortran order) over the whole image, so a box
    at ``(x0, y0)`` covers the column-major span from ``x0 * height`` to
    ``x1 * height``. Only that span (box columns padded to full height) is
    materialised; pycocotools compresses the counts. Result equals
    ``pycocotools.mask.encode`` of the full mask.
    """
    from pycocotools import mask as mask_util

    h, w = mask.shape
    span = np.zeros((height, w), np.uint8)
    span[y0 : y0 + h] = mask
    flat = span.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(edges)
    counts = runs.tolist()
    if flat[0]:
        counts.insert(0, 0)  # RLE starts with a run of zeros
    counts[0] += x0 * height
    tail = (width - x0 - w) * height
    if tail:
        if len(counts) % 2 == 1:  # last run is zeros: extend it
            counts[-1] += tail
        else:
            counts.append(tail)
    rle = mask_util.frPyObjects({"counts": counts, "size": [height, width]}, height, width)
    rle["counts"] = rle["counts"].decode("ascii")
    return dict(rle)


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
