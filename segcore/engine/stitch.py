"""Stitch per-tile objects into one instance map: each object is owned by one tile.

A tile groups the dense maps of its core widened by ``margin`` (the largest
object side; its halo is the model's receptive field plus that margin, so
those maps equal a whole-image pass). An object belongs to the tile whose core
holds its *anchor*, its first pixel in raster order: cores partition the
image, so every object has exactly one owner, and an object no wider than the
margin whose anchor lies in a core is seen whole by that tile. Owners paint
their objects (new ids, consecutive over the whole image) into a band of rows
that is handed out as soon as no later tile row can reach it, so memory is
a few rows of tiles wide, never the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from segcore.engine.grouping import Objects
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED


@dataclass(frozen=True)
class ObjectRow:
    """One object of the result: id, class id, score, area (pixels) and bounding
    box ``x, y, w, h`` in image pixels."""

    id: int
    class_id: int
    score: float
    area: int
    bbox: tuple[int, int, int, int]


@dataclass(frozen=True)
class InstanceBand:
    """Finished rows ``y .. y + h`` over the region's columns: instance ids and classes."""

    y: int
    instances: NDArray[np.uint32]
    classes: NDArray[np.uint8]

    @property
    def height(self) -> int:
        return int(self.instances.shape[0])


@dataclass(frozen=True)
class Owned:
    """What a tile added: its objects' rows, their window-local labels and global ids
    (for polygons), and the window they are in."""

    rows: tuple[ObjectRow, ...]
    labels: NDArray[np.int32]
    ids: NDArray[np.uint32]  # global id per window label (index = label), 0 = not owned
    window: Box
    truncated: int = 0  # owned objects touching a window edge inside the image (too big)


class Stitcher:
    """Rows of the instance and class maps of ``roi`` being painted by tile owners."""

    def __init__(self, roi: Box, *, margin: int, image: Box | None = None) -> None:
        self.roi = roi
        self.image = image or roi
        self.margin = margin
        self.top = roi.y  # first row not handed out yet
        self.next_id = 1
        self._inst = np.zeros((0, roi.w), np.uint32)
        self._cls = np.zeros((0, roi.w), np.uint8)

    def _cover(self, bottom: int) -> None:
        """Grow the buffers to cover image rows ``top .. bottom``."""
        have = self.top + self._inst.shape[0]
        bottom = min(bottom, self.roi.y1)
        if bottom > have:
            extra = bottom - have
            self._inst = np.concatenate([self._inst, np.zeros((extra, self.roi.w), np.uint32)])
            self._cls = np.concatenate([self._cls, np.zeros((extra, self.roi.w), np.uint8)])

    def add(
        self,
        core: Box,
        window: Box,
        objects: Objects,
        invalid: NDArray[np.bool_] | None = None,
    ) -> Owned:
        """Paint the objects of ``window`` (image pixels) whose anchor lies in ``core``.

        ``invalid`` marks the core's nodata pixels (class UNLABELLED where no object is).
        """
        self._cover(max(core.y1, window.y1))
        if invalid is not None and invalid.any():
            self._mark_invalid(core, invalid)
        ay = objects.anchors[:, 0] + window.y
        ax = objects.anchors[:, 1] + window.x
        own = (ay >= core.y) & (ay < core.y1) & (ax >= core.x) & (ax < core.x1)
        ids = np.zeros(objects.count + 1, np.uint32)
        part = self._clip(window)
        if not own.any() or part.is_empty:
            return Owned((), objects.labels, ids, window)
        cls = np.zeros(objects.count + 1, np.uint8)
        cls[1:] = objects.classes
        local = objects.labels[
            part.y - window.y : part.y1 - window.y, part.x - window.x : part.x1 - window.x
        ]
        rows = slice(part.y - self.top, part.y1 - self.top)
        cols = slice(part.x - self.roi.x, part.x1 - self.roi.x)
        inst, classes = self._inst[rows, cols], self._cls[rows, cols]
        owned = np.concatenate([[False], own])
        paint = owned[local] & (inst == 0)
        # ids only for objects that paint a pixel, so ids stay consecutive over the image
        painted = np.bincount(local[paint], minlength=objects.count + 1) > 0
        n = int(painted.sum())
        ids[painted] = np.arange(self.next_id, self.next_id + n, dtype=np.uint32)
        self.next_id += n
        inst[paint] = ids[local[paint]]
        classes[paint] = cls[local[paint]]
        own = own & painted[1:]
        found = self._rows(objects, ids, own, local, part, paint)
        return Owned(found, objects.labels, ids, window, self._truncated(objects, own, window))

    def _truncated(self, objects: Objects, own: NDArray[np.bool_], window: Box) -> int:
        """Owned objects with a pixel on an edge of ``window`` that is not the image's."""
        labels = objects.labels
        edges = []
        if window.x > self.image.x:
            edges.append(labels[:, 0])
        if window.x1 < self.image.x1:
            edges.append(labels[:, -1])
        if window.y > self.image.y:
            edges.append(labels[0])
        if window.y1 < self.image.y1:
            edges.append(labels[-1])
        if not edges:
            return 0
        touching = np.unique(np.concatenate(edges))
        touching = touching[touching > 0] - 1
        return int(own[touching].sum())

    def _clip(self, window: Box) -> Box:
        """``window`` within the region and below the rows already handed out."""
        box = window.intersect(self.roi)
        return Box.from_bounds(box.x, max(box.y, self.top), box.x1, box.y1)

    def _mark_invalid(self, core: Box, invalid: NDArray[np.bool_]) -> None:
        part = self._clip(core)
        mask = invalid[part.y - core.y : part.y1 - core.y, part.x - core.x : part.x1 - core.x]
        rows = slice(part.y - self.top, part.y1 - self.top)
        cols = slice(part.x - self.roi.x, part.x1 - self.roi.x)
        cls = self._cls[rows, cols]
        cls[mask & (self._inst[rows, cols] == 0)] = UNLABELLED

    @staticmethod
    def _rows(
        objects: Objects,
        ids: NDArray[np.uint32],
        own: NDArray[np.bool_],
        local: NDArray[np.int32],
        part: Box,
        paint: NDArray[np.bool_],
    ) -> tuple[ObjectRow, ...]:
        from scipy import ndimage

        labels = np.where(paint, local, 0)
        slices = ndimage.find_objects(labels, max_label=objects.count)
        areas = np.bincount(labels.ravel(), minlength=objects.count + 1)
        rows = []
        for k in np.flatnonzero(own).tolist():
            box = slices[k]
            if box is None:
                continue  # every pixel was outside the region or already painted
            ys, xs = box
            rows.append(
                ObjectRow(
                    id=int(ids[k + 1]),
                    class_id=int(objects.classes[k]),
                    score=float(objects.scores[k]),
                    area=int(areas[k + 1]),
                    bbox=(
                        part.x + xs.start,
                        part.y + ys.start,
                        xs.stop - xs.start,
                        ys.stop - ys.start,
                    ),  # fmt: skip
                )
            )
        return tuple(rows)

    def release(self, below: int) -> InstanceBand | None:
        """Hand out the rows above image row ``below`` (no later tile paints them)."""
        below = min(below, self.roi.y1)
        self._cover(below)
        n = below - self.top
        if n <= 0:
            return None
        band = InstanceBand(self.top, self._inst[:n].copy(), self._cls[:n].copy())
        self._inst, self._cls = self._inst[n:], self._cls[n:]
        self.top = below
        return band

    def finish(self) -> InstanceBand | None:
        """The last rows."""
        return self.release(self.roi.y1)
