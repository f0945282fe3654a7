"""Object detection scores at one IoU: precision, recall and F1 (the usual nuclei score).

A predicted object and a ground-truth object match when their IoU exceeds the
threshold (above 0.5 a match is unique: two objects cannot both overlap one
object by more than half of their union). Unmatched predictions are false
positives, unmatched ground-truth objects false negatives. Objects are the
instance ids of the two maps (class-agnostic); intersections are counted
window by window (``add`` windows of one image, then ``end_image``), so
images of any size work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.labels.segments import unique_inverse


@dataclass(frozen=True)
class DetectionScores:
    """Counts and scores at ``iou``; ``mean_iou`` is over the matches (0 without any)."""

    iou: float
    tp: int
    fp: int
    fn: int
    mean_iou: float

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "iou": self.iou, "tp": self.tp, "fp": self.fp, "fn": self.fn,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "mean_matched_iou": self.mean_iou,
        }  # fmt: skip


class ObjectMatcher:
    """Accumulates object matches over images; ``result()`` gives the scores.

    >>> m = ObjectMatcher(0.5)
    >>> m.update(np.array([[1, 1, 0, 2]]), np.array([[3, 3, 3, 0]]))
    >>> s = m.result(); (s.tp, s.fp, s.fn)
    (1, 0, 1)
    """

    def __init__(self, iou: float = 0.5) -> None:
        if not 0.5 <= iou < 1.0:
            raise ValueError(f"matching IoU must be in [0.5, 1), got {iou}")
        self.iou = iou
        self.tp = self.fp = self.fn = 0
        self._iou_sum = 0.0
        self._reset()

    def _reset(self) -> None:
        self._gt: dict[int, int] = defaultdict(int)
        self._pred: dict[int, int] = defaultdict(int)
        self._inter: dict[tuple[int, int], int] = defaultdict(int)

    def add(self, gt: NDArray[Any], pred: NDArray[Any]) -> None:
        """Count one window of the current image (instance ids, 0 = no object)."""
        g_u, g_i = unique_inverse(gt.ravel().astype(np.int64))
        p_u, p_i = unique_inverse(pred.ravel().astype(np.int64))
        pairs = np.bincount(g_i.ravel() * len(p_u) + p_i.ravel(), minlength=len(g_u) * len(p_u))
        for flat in np.flatnonzero(pairs).tolist():
            gi, pi = divmod(flat, len(p_u))
            g, p, count = int(g_u[gi]), int(p_u[pi]), int(pairs[flat])
            if g:
                self._gt[g] += count
            if p:
                self._pred[p] += count
            if g and p:
                self._inter[(g, p)] += count

    def end_image(self) -> None:
        """Match the current image's objects and add them to the totals."""
        matched = 0
        for (g, p), inter in self._inter.items():
            iou = inter / (self._gt[g] + self._pred[p] - inter)
            if iou > self.iou:
                matched += 1
                self._iou_sum += iou
        self.tp += matched
        self.fp += len(self._pred) - matched
        self.fn += len(self._gt) - matched
        self._reset()

    def update(self, gt: NDArray[Any], pred: NDArray[Any]) -> None:
        """One whole image: ``add`` then ``end_image``."""
        self.add(gt, pred)
        self.end_image()

    def result(self) -> DetectionScores:
        mean = self._iou_sum / self.tp if self.tp else 0.0
        return DetectionScores(self.iou, self.tp, self.fp, self.fn, mean)
