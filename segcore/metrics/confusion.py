"""Semantic segmentation scores from a confusion matrix built chunk by chunk.

Rows are ground-truth classes, columns predictions; one extra column counts
labelled ground-truth pixels whose prediction is not a class (unlabelled or
out of range), so they are misses, never dropped. Ground-truth pixels equal
to ``ignore`` are left out.

Averaging rule: a class counts in mIoU, mean Dice and mean precision when it
occurs in the ground truth *or* the prediction (TP + FP + FN > 0); classes
that occur in neither are NaN and left out. Mean class accuracy (mean
recall) averages classes present in the ground truth.

Example
-------
>>> cm = ConfusionMatrix(2)
>>> cm.update(np.array([[0, 1]]), np.array([[0, 0]]))
>>> cm.matrix.tolist()
[[1, 1, 0], [0, 0, 0]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import LabelError
from segcore.labels.schema import UNLABELLED


class ConfusionMatrix:
    """Counts of (ground truth, prediction) pixel pairs over any number of chunks."""

    def __init__(self, num_classes: int, *, ignore: int | None = UNLABELLED) -> None:
        if num_classes < 1:
            raise LabelError(f"need at least one class, got {num_classes}")
        self.num_classes = num_classes
        self.ignore = ignore
        self.matrix = np.zeros((num_classes, num_classes + 1), np.int64)

    def update(self, pred: NDArray[Any], gt: NDArray[Any]) -> None:
        """Add one chunk; ``pred`` and ``gt`` are integer arrays of the same shape."""
        if pred.shape != gt.shape:
            raise LabelError(f"prediction shape {pred.shape} differs from ground truth {gt.shape}")
        n = self.num_classes
        gt = gt.ravel().astype(np.int64)
        pred = pred.ravel().astype(np.int64)
        if self.ignore is not None:
            keep = gt != self.ignore
            gt, pred = gt[keep], pred[keep]
        if gt.size and (gt.min() < 0 or gt.max() >= n):
            bad = int(gt.max() if gt.max() >= n else gt.min())
            raise LabelError(
                f"ground truth holds class {bad}, outside 0..{n - 1}; "
                "pass the number of classes or the ignore value it uses"
            )
        pred = np.where((pred < 0) | (pred >= n), n, pred)
        counts = np.bincount(gt * (n + 1) + pred, minlength=n * (n + 1))
        self.matrix += counts.reshape(n, n + 1)

    def merge(self, other: ConfusionMatrix) -> None:
        if other.matrix.shape != self.matrix.shape:
            raise LabelError("cannot merge confusion matrices with different class counts")
        self.matrix += other.matrix

    def scores(self) -> SemanticScores:
        return semantic_scores(self.matrix)


@dataclass(frozen=True)
class SemanticScores:
    """Per-class arrays (NaN where undefined) and their summaries."""

    iou: NDArray[np.float64]
    dice: NDArray[np.float64]
    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    support: NDArray[np.int64]  # ground-truth pixels per class
    miou: float
    mean_dice: float
    pixel_accuracy: float
    mean_accuracy: float

    def to_json(self, names: list[str] | None = None) -> dict[str, Any]:
        names = names or [str(i) for i in range(len(self.iou))]

        def num(v: float) -> float | None:
            return None if np.isnan(v) else float(v)

        return {
            "per_class": [
                {
                    "class": names[i],
                    "iou": num(self.iou[i]),
                    "dice": num(self.dice[i]),
                    "precision": num(self.precision[i]),
                    "recall": num(self.recall[i]),
                    "support": int(self.support[i]),
                }
                for i in range(len(self.iou))
            ],
            "miou": num(self.miou),
            "mean_dice": num(self.mean_dice),
            "pixel_accuracy": num(self.pixel_accuracy),
            "mean_accuracy": num(self.mean_accuracy),
        }


def _ratio(num: NDArray[Any], den: NDArray[Any]) -> NDArray[np.float64]:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _mean(values: NDArray[np.float64], mask: NDArray[np.bool_]) -> float:
    picked = values[mask]
    return float(picked.mean()) if picked.size else float("nan")


def semantic_scores(matrix: NDArray[np.int64]) -> SemanticScores:
    """Scores from a ``(n, n + 1)`` confusion matrix (see module docstring for averaging)."""
    n = matrix.shape[0]
    tp = np.diag(matrix[:, :n]).astype(np.float64)
    support = matrix.sum(axis=1)
    fn = support - tp
    fp = matrix[:, :n].sum(axis=0) - tp
    present = (tp + fp + fn) > 0
    iou = _ratio(tp, tp + fp + fn)
    dice = _ratio(2 * tp, 2 * tp + fp + fn)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, support.astype(np.float64))
    total = support.sum()
    return SemanticScores(
        iou=iou,
        dice=dice,
        precision=precision,
        recall=recall,
        support=support,
        miou=_mean(iou, present),
        mean_dice=_mean(dice, present),
        pixel_accuracy=float(tp.sum() / total) if total else float("nan"),
        mean_accuracy=_mean(recall, support > 0),
    )
