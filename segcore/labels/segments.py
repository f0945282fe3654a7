"""Find an image's segments window by window, then cut each one out.

A segment is the pixels sharing one ``(instance, class)`` pair: an object
(instance > 0), or all unlabelled-instance pixels of one class (instance 0:
a stuff region, or a "crowd" of a thing class). Object-level formats (COCO,
panoptic, labelme, YOLO) and instance metrics first scan the label map window
by window for each segment's bounding box and area, then read only each
segment's box (as a mask, or as COCO run-length counts in column strips):
memory follows the largest segment's box, not the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.jobs import Job, Progress
from segcore.labels.box import windows
from segcore.labels.reader import LabelReader
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
    2048 x 2048 window of segment keys this took 0.06 s instead of numpy's 0.54 s.
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


class RleBuilder:
    """COCO RLE counts of a ``height`` x ``width`` mask, fed column strips left to right.

    COCO RLE runs down columns (Fortran order) over the whole image, so a strip
    of whole columns is one contiguous piece of the sequence: each strip's runs
    are appended, merging the run that continues across the strip border.
    Only one strip (padded to full height) is in memory at a time.
    """

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.counts: list[int] = [0]  # counts start with a run of zeros
        self.value = 0  # value of the last run
        self.columns = 0

    def add_zeros(self, columns: int) -> None:
        self._extend_run(0, columns * self.height)
        self.columns += columns

    def _extend_run(self, value: int, length: int) -> None:
        if length == 0:
            return
        if value == self.value:
            self.counts[-1] += length
        else:
            self.counts.append(length)
            self.value = value

    def add_columns(self, mask: NDArray[np.bool_], y0: int) -> None:
        """Columns whose rows ``y0 .. y0 + len(mask)`` are ``mask``; other rows are 0."""
        h, w = mask.shape
        span = np.zeros((self.height, w), np.uint8)
        span[y0 : y0 + h] = mask
        flat = span.ravel(order="F")
        change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        runs = np.diff(np.concatenate(([0], change, [flat.size]))).tolist()
        self._extend_run(int(flat[0]), runs[0])
        self.counts.extend(runs[1:])
        if len(runs) > 1:
            self.value = int(flat[-1])
        self.columns += w

    def encode(self) -> dict[str, Any]:
        """The compressed RLE (``counts`` as text), equal to ``pycocotools.mask.encode``."""
        from pycocotools import mask as mask_util

        self.add_zeros(self.width - self.columns)
        size = [self.height, self.width]
        rle = mask_util.frPyObjects({"counts": self.counts, "size": size}, *size)
        rle["counts"] = rle["counts"].decode("ascii")
        return dict(rle)


def rle_from_crop(
    mask: NDArray[np.bool_], x0: int, y0: int, height: int, width: int
) -> dict[str, Any]:
    """COCO compressed RLE of a full ``height`` x ``width`` mask that is zero outside a box.

    Equals ``pycocotools.mask.encode`` of the full mask; only the box's columns
    (padded to full height) are materialised.
    """
    builder = RleBuilder(height, width)
    builder.add_zeros(x0)
    builder.add_columns(mask, y0)
    return builder.encode()


def segment_rle(labels: LabelReader, seg: Segment, window: int) -> dict[str, Any]:
    """COCO RLE of a segment, read in column strips of about ``window**2`` pixels.

    A stuff region can span the whole image; strips keep memory bounded.
    """
    builder = RleBuilder(labels.height, labels.width)
    builder.add_zeros(seg.x0)
    step = max(1, window * window // max(labels.height, 1))
    h = seg.y1 - seg.y0
    for x in range(seg.x0, seg.x1, step):
        w = min(step, seg.x1 - x)
        classes = labels.read("semantic", x, seg.y0, w, h)
        instances = labels.read("instance", x, seg.y0, w, h)
        builder.add_columns((classes == seg.class_id) & (instances == seg.instance), seg.y0)
    return builder.encode()
