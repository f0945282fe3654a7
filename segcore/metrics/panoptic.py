"""Panoptic quality (PQ, SQ, RQ) after Kirillov et al., "Panoptic Segmentation" (CVPR 2019).

Segments: each object (thing class, instance > 0) is a segment; all pixels of
a stuff class form one segment; thing pixels without instance id form a
*crowd* segment in the ground truth. Ground-truth pixels of ``ignore`` are
void. A prediction and a ground-truth segment of the same class match when
IoU > 0.5, where the union leaves out the prediction's void pixels (such a
match is unique). Unmatched ground-truth segments (not crowds) are false
negatives; an unmatched prediction is a false positive unless more than half
of it lies on void or on a crowd of its class. Per class::

    PQ = sum(IoU of matches) / (TP + FP/2 + FN/2),  SQ = sum(IoU) / TP,  RQ = PQ / SQ

and the averages over classes with any TP, FP or FN, for all, things, stuff.

Intersections are counted window by window (``add`` any number of windows
of one image, then ``end_image``), so images of any size work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.labels.schema import UNLABELLED
from segcore.labels.segments import unique_inverse

Key = tuple[int, int]  # (class, instance); instance 0 = stuff or crowd region


@dataclass
class ClassStat:
    iou: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0


@dataclass(frozen=True)
class PanopticScores:
    pq: float
    sq: float
    rq: float
    n: int  # classes averaged
    per_class: dict[int, dict[str, float]] = field(default_factory=dict)


def _keys(classes: NDArray[Any], instances: NDArray[Any], things: Collection[int]) -> NDArray[Any]:
    """One 64-bit key per pixel: instance << 8 | class; stuff instances forced to 0."""
    cls = classes.astype(np.uint64)
    inst = instances.astype(np.uint64)
    is_thing = np.isin(classes, np.fromiter(things, np.int64, len(things)))
    inst = np.where(is_thing, inst, np.uint64(0))
    return np.asarray((inst << np.uint64(8)) | cls)


class PanopticQuality:
    """Accumulates matches over images; ``result()`` gives the scores.

    ``things`` are the class ids with instances; every other id in
    ``0..num_classes-1`` is stuff.
    """

    def __init__(self, num_classes: int, things: Collection[int], *, ignore: int = UNLABELLED):
        self.num_classes = num_classes
        self.things = set(things)
        self.ignore = ignore
        self.stats = [ClassStat() for _ in range(num_classes)]
        self._reset()

    def _reset(self) -> None:
        self._gt_area: dict[Key, int] = defaultdict(int)
        self._pred_area: dict[Key, int] = defaultdict(int)
        self._inter: dict[tuple[Key, Key], int] = defaultdict(int)
        self._pred_void: dict[Key, int] = defaultdict(int)

    def add(
        self,
        gt_classes: NDArray[Any],
        gt_instances: NDArray[Any],
        pred_classes: NDArray[Any],
        pred_instances: NDArray[Any],
    ) -> None:
        """Count one window of the current image."""
        gt = _keys(gt_classes, gt_instances, self.things).ravel()
        pred = _keys(pred_classes, pred_instances, self.things).ravel()
        gt_u, gt_i = unique_inverse(gt)
        pr_u, pr_i = unique_inverse(pred)
        pairs = np.bincount(
            gt_i.ravel() * len(pr_u) + pr_i.ravel(), minlength=len(gt_u) * len(pr_u)
        )
        for flat in np.flatnonzero(pairs).tolist():
            g, p = divmod(flat, len(pr_u))
            count = int(pairs[flat])
            gk = (int(gt_u[g]) & 0xFF, int(gt_u[g]) >> 8)
            pk = (int(pr_u[p]) & 0xFF, int(pr_u[p]) >> 8)
            if gk[0] != self.ignore:
                self._gt_area[gk] += count
            if pk[0] == self.ignore:
                continue
            self._pred_area[pk] += count
            if gk[0] == self.ignore:
                self._pred_void[pk] += count
            else:
                self._inter[(gk, pk)] += count

    def end_image(self) -> None:
        """Match the current image's segments and add them to the totals."""
        matched_gt: set[Key] = set()
        matched_pred: set[Key] = set()
        crowd_overlap: dict[Key, int] = defaultdict(int)
        for (gk, pk), inter in self._inter.items():
            if gk[0] != pk[0]:
                continue
            if gk[0] in self.things and gk[1] == 0:  # a crowd region of this class
                crowd_overlap[pk] += inter
                continue
            union = self._pred_area[pk] + self._gt_area[gk] - inter - self._pred_void[pk]
            iou = inter / union
            if iou > 0.5:
                stat = self.stats[gk[0]]
                stat.tp += 1
                stat.iou += iou
                matched_gt.add(gk)
                matched_pred.add(pk)
        for gk in self._gt_area:
            if gk not in matched_gt and not (gk[0] in self.things and gk[1] == 0):
                self.stats[gk[0]].fn += 1
        for pk, area in self._pred_area.items():
            if pk in matched_pred:
                continue
            ignored = self._pred_void[pk] + crowd_overlap[pk]
            if ignored / area > 0.5:
                continue
            if pk[0] < self.num_classes:
                self.stats[pk[0]].fp += 1
        self._reset()

    def update(
        self,
        gt_classes: NDArray[Any],
        gt_instances: NDArray[Any],
        pred_classes: NDArray[Any],
        pred_instances: NDArray[Any],
    ) -> None:
        """One whole image: ``add`` then ``end_image``."""
        self.add(gt_classes, gt_instances, pred_classes, pred_instances)
        self.end_image()

    def result(self, subset: str = "all") -> PanopticScores:
        """Averages over ``"all"``, ``"things"`` or ``"stuff"`` classes."""
        ids = range(self.num_classes)
        if subset == "things":
            ids = [i for i in ids if i in self.things]  # type: ignore[assignment]
        elif subset == "stuff":
            ids = [i for i in ids if i not in self.things]  # type: ignore[assignment]
        per_class: dict[int, dict[str, float]] = {}
        for i in ids:
            s = self.stats[i]
            denom = s.tp + 0.5 * s.fp + 0.5 * s.fn
            if denom == 0:
                continue
            sq = s.iou / s.tp if s.tp else 0.0
            rq = s.tp / denom
            per_class[i] = {"pq": sq * rq, "sq": sq, "rq": rq}
        n = len(per_class)
        if n == 0:
            return PanopticScores(0.0, 0.0, 0.0, 0, {})
        return PanopticScores(
            pq=sum(v["pq"] for v in per_class.values()) / n,
            sq=sum(v["sq"] for v in per_class.values()) / n,
            rq=sum(v["rq"] for v in per_class.values()) / n,
            n=n,
            per_class=per_class,
        )
