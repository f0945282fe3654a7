"""Assemble tile outputs into finished row bands of the output.

Tiles arrive in plan order (row by row). A merger hands back :class:`Band`\\ s,
consecutive full-width rows of the region of interest, as soon as no later
tile can change them, so the writer streams and memory stays bounded:

* :class:`ExactMerger` copies each tile's core (its owned pixels). It holds
  one row of tile cores as uint8: ``core height x ROI width`` bytes.
* :class:`BlendMerger` adds every tile's logits times a Gaussian or cosine
  window into float32 accumulators and divides by the summed weights once,
  when a row is final. It holds ``classes x tile height x ROI width`` floats.

Pixels that no tile produced (masked out, skipped nodata, invalid input) are
UNLABELLED (255) with score 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from segcore.engine.options import Window
from segcore.engine.reader import TileData
from segcore.engine.runners import Score, TileOutput, reduce_logits
from segcore.engine.tiling import Tile, TilePlan
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED


@dataclass(frozen=True)
class Band:
    """Finished output rows ``y .. y + h`` (image rows) over the ROI's columns."""

    y: int
    labels: np.ndarray  # (h, roi width) uint8
    score: np.ndarray | None = None  # (h, roi width) uint8
    logits: np.ndarray | None = None  # (classes, h, roi width) float32

    @property
    def height(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class TilePatch:
    """A finished piece of the class map at image pixel (x, y), for painting."""

    x: int
    y: int
    labels: np.ndarray
    score: np.ndarray | None = None


class _Rows:
    """Shared bookkeeping: which plan row is open and which output row is next."""

    def __init__(self, plan: TilePlan, *, score: Score, classes: int, logits: bool) -> None:
        self.plan = plan
        self.roi = plan.roi
        self.score = score != "none"
        self.classes = classes
        self.logits = logits
        self.next_y = plan.roi.y
        self._left = iter(len(r) for r in plan.rows)
        self.remaining = 0

    def start_row(self) -> None:
        self.remaining = next(self._left)

    def fill(self, y0: int, y1: int) -> Iterator[Band]:
        """Empty bands (UNLABELLED) for rows no tile owns."""
        step = max(self.plan.tile_h, 1)
        for y in range(y0, y1, step):
            h = min(step, y1 - y)
            yield self.empty(y, h)

    def patch(self, band: Band) -> TilePatch:
        """A finished band as a patch for painting."""
        return TilePatch(self.roi.x, band.y, band.labels, band.score)

    def empty(self, y: int, h: int) -> Band:
        w = self.roi.w
        return Band(
            y,
            np.full((h, w), UNLABELLED, np.uint8),
            np.zeros((h, w), np.uint8) if self.score else None,
            np.zeros((self.classes, h, w), np.float32) if self.logits else None,
        )


class ExactMerger(_Rows):
    """Copy each tile's core into the current row band."""

    def __init__(self, plan: TilePlan, *, score: Score, classes: int, logits: bool) -> None:
        super().__init__(plan, score=score, classes=classes, logits=logits)
        self._band: Band | None = None

    def add(self, data: TileData, out: TileOutput | None) -> tuple[list[Band], list[TilePatch]]:
        tile, core = data.tile, data.tile.core
        if self._band is None:
            self.start_row()
            self._band = self.empty(core.y, core.h)
        cx, cy = core.x - tile.read.x, core.y - tile.read.y
        bx = core.x - self.roi.x
        labels = self._band.labels[:, bx : bx + core.w]
        score = None if self._band.score is None else self._band.score[:, bx : bx + core.w]
        if out is not None:
            labels[:] = out.labels[cy : cy + core.h, cx : cx + core.w]
            if score is not None and out.score is not None:
                score[:] = out.score[cy : cy + core.h, cx : cx + core.w]
            if self._band.logits is not None and out.logits is not None:
                src = out.logits[:, cy : cy + core.h, cx : cx + core.w]
                self._band.logits[:, :, bx : bx + core.w] = src
            if data.invalid is not None:
                bad = data.invalid[cy : cy + core.h, cx : cx + core.w]
                labels[bad] = UNLABELLED
                if score is not None:
                    score[bad] = 0
        patch = TilePatch(core.x, core.y, labels.copy(), None if score is None else score.copy())
        self.remaining -= 1
        if self.remaining > 0:
            return [], [patch]
        band, self._band = self._band, None
        bands = [*self.fill(self.next_y, band.y), band]
        self.next_y = band.y + band.height
        return bands, [patch]

    def finish(self) -> list[Band]:
        bands = list(self.fill(self.next_y, self.roi.y1))
        self.next_y = self.roi.y1
        return bands


def window_weights(h: int, w: int, kind: Window) -> np.ndarray:
    """A (h, w) float32 weight window, 1 at the centre and small but > 0 at the edges."""

    def axis(n: int) -> np.ndarray:
        i = np.arange(n, dtype=np.float64)
        if kind == "cosine":
            return np.asarray(np.sin(np.pi * (i + 0.5) / n) ** 2)
        sigma = 0.125 * n
        return np.asarray(np.exp(-((i - (n - 1) / 2) ** 2) / (2 * sigma**2)))

    weights = np.outer(axis(h), axis(w))
    weights /= weights.max()
    return np.maximum(weights, 1e-4).astype(np.float32)


class BlendMerger(_Rows):
    """Weighted average of overlapping tiles' logits, normalised once per row."""

    def __init__(
        self, plan: TilePlan, *, score: Score, classes: int, logits: bool, window: Window
    ) -> None:
        super().__init__(plan, score=score, classes=classes, logits=logits)
        self._kind: Score = score
        self._weights = window_weights(plan.tile_h, plan.tile_w, window)
        h, w = plan.tile_h, plan.roi.w
        self._acc = np.zeros((classes, h, w), np.float32)
        self._wsum = np.zeros((h, w), np.float32)
        self._bad = np.zeros((h, w), bool)
        self._top: int | None = None  # image row of buffer row 0

    def add(self, data: TileData, out: TileOutput | None) -> tuple[list[Band], list[TilePatch]]:
        tile = data.tile
        bands: list[Band] = []
        if self.remaining == 0:
            self.start_row()
            bands = self._flush(min(tile.read.y, self.roi.y1))
            self._shift(tile.read.y)
        part = tile.read.intersect(self.roi)
        if not part.is_empty:
            self._add(tile, part, data, out)
        self.remaining -= 1
        return bands, [self.patch(b) for b in bands]

    def finish(self) -> list[Band]:
        return self._flush(self.roi.y1)

    def _add(self, tile: Tile, part: Box, data: TileData, out: TileOutput | None) -> None:
        assert self._top is not None
        ty, tx = part.y - tile.read.y, part.x - tile.read.x
        by, bx = part.y - self._top, part.x - self.roi.x
        dst = (slice(by, by + part.h), slice(bx, bx + part.w))
        src = (slice(ty, ty + part.h), slice(tx, tx + part.w))
        if data.invalid is not None:
            self._bad[dst] |= data.invalid[src]
        if out is None or out.logits is None:
            return  # a skipped tile: its owned pixels are all invalid, marked above
        weights = self._weights[src]
        self._acc[(slice(None), *dst)] += out.logits[(slice(None), *src)] * weights
        self._wsum[dst] += weights

    def _shift(self, top: int) -> None:
        """Move the buffer down so that it starts at image row ``top``."""
        if self._top is not None:
            keep = max(self._top + self.plan.tile_h - top, 0)
            if keep:
                moved = top - self._top
                self._acc[:, :keep] = self._acc[:, moved : moved + keep]
                self._wsum[:keep] = self._wsum[moved : moved + keep]
                self._bad[:keep] = self._bad[moved : moved + keep]
            self._acc[:, keep:] = 0
            self._wsum[keep:] = 0
            self._bad[keep:] = False
        self._top = top

    def _flush(self, until: int) -> list[Band]:
        """Finish rows ``next_y .. until``: normalise, reduce, hand out."""
        bands: list[Band] = []
        if until <= self.next_y:
            return bands
        if self._top is not None:
            a = max(self.next_y, self._top)
            b = min(until, self._top + self.plan.tile_h)
            if b > a:
                bands.extend(self.fill(self.next_y, a))
                bands.append(self._final(a, b))
                self.next_y = b
        bands.extend(self.fill(self.next_y, until))
        self.next_y = until
        return bands

    def _final(self, a: int, b: int) -> Band:
        assert self._top is not None
        rows = slice(a - self._top, b - self._top)
        wsum = self._wsum[rows]
        covered = wsum > 0
        logits = self._acc[:, rows] / np.where(covered, wsum, 1.0)
        labels, score = reduce_logits(logits, self._kind)
        bad = self._bad[rows] | ~covered
        labels[bad] = UNLABELLED
        if score is not None:
            score[bad] = 0
        return Band(a, labels, score, logits if self.logits else None)
