"""Scores of label volumes: Dice and IoU per class over the volume and per slice, and HD95.

Volumes are label maps with 0 = background and ``k >= 1`` = label ``k``, as
NIfTI segmentations of other tools (and Tessera's NIfTI export) store them.
Overlap counts are gathered one slice at a time.

HD95 follows MONAI's ``compute_hausdorff_distance(percentile=95)`` (and the
Medical Segmentation Decathlon's report): the surface of a mask is its voxels
removed by one binary erosion (6-connected), distances are Euclidean in
millimetres (voxel spacing), and HD95 is the larger of the two directed
95th percentiles (prediction surface to truth surface, and back). A class
present in one volume only scores ``inf``; absent from both, NaN. The
distance maps come from scipy's exact Euclidean distance transform inside
the bounding box of both masks plus one voxel (every nearest surface voxel
lies in that box, so cropping changes no distance): memory follows the
class's extent, not the volume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from segcore.jobs import Job, Progress

SliceReader = Callable[[int], np.ndarray]  # slice index -> (rows, cols) label map


@dataclass
class ClassScores:
    """One label's scores."""

    label: int
    dice: float
    iou: float
    hd95_mm: float
    truth_voxels: int
    predicted_voxels: int
    dice_per_slice: list[float] = field(default_factory=list)  # NaN: absent from both

    def to_json(self, name: str) -> dict[str, object]:
        def num(v: float) -> float | str | None:
            return None if math.isnan(v) else ("inf" if math.isinf(v) else round(v, 6))

        return {
            "label": self.label,
            "name": name,
            "dice": num(self.dice),
            "iou": num(self.iou),
            "hd95_mm": num(self.hd95_mm),
            "truth_voxels": self.truth_voxels,
            "predicted_voxels": self.predicted_voxels,
            "dice_per_slice": [num(v) for v in self.dice_per_slice],
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else math.nan


def surface(mask: np.ndarray) -> np.ndarray:
    """The mask's voxels that one 6-connected erosion removes (MONAI's mask edges)."""
    from scipy import ndimage

    return np.asarray(mask & ~ndimage.binary_erosion(mask))


def hd95(pred: np.ndarray, truth: np.ndarray, spacing: tuple[float, ...]) -> float:
    """95th-percentile symmetric Hausdorff distance between two boolean masks, in mm.

    >>> a = np.zeros((1, 1, 10), bool); a[0, 0, 2:4] = True
    >>> b = np.zeros((1, 1, 10), bool); b[0, 0, 5:7] = True
    >>> round(hd95(a, b, (1.0, 1.0, 2.0)), 6)  # directed distances 4 and 6 mm each way
    5.9
    """
    from scipy import ndimage

    if not pred.any() and not truth.any():
        return math.nan
    if not pred.any() or not truth.any():
        return math.inf
    both = pred | truth
    lo = [
        max(int(np.flatnonzero(both.any(axis=tuple(j for j in range(3) if j != i)))[0]) - 1, 0)
        for i in range(3)
    ]
    hi = [
        int(np.flatnonzero(both.any(axis=tuple(j for j in range(3) if j != i)))[-1]) + 2
        for i in range(3)
    ]
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    edge_p, edge_t = surface(pred[box]), surface(truth[box])
    to_truth = ndimage.distance_transform_edt(~edge_t, sampling=spacing)[edge_p]
    to_pred = ndimage.distance_transform_edt(~edge_p, sampling=spacing)[edge_t]
    return float(max(np.percentile(to_truth, 95), np.percentile(to_pred, 95)))


def compare_volumes(
    pred: SliceReader, truth: SliceReader, *, depth: int, spacing: tuple[float, float, float]
) -> Job[list[ClassScores]]:
    """Scores of every label found in either volume (read slice by slice).

    ``spacing`` is (row, column, slice) in mm, the axes of the stacked slices.
    HD95 then stacks each label's masks (one bit per voxel of the volume,
    cropped to the label's extent as the module says).
    """
    inter: dict[int, np.ndarray] = {}
    n_pred: dict[int, np.ndarray] = {}
    n_truth: dict[int, np.ndarray] = {}

    def counts(table: dict[int, np.ndarray], label: int) -> np.ndarray:
        return table.setdefault(label, np.zeros(depth, np.int64))

    for z in range(depth):
        p, t = np.asarray(pred(z)), np.asarray(truth(z))
        for label in set(np.unique(p).tolist()) | set(np.unique(t).tolist()):
            if label == 0:
                continue
            pm, tm = p == label, t == label
            counts(inter, label)[z] = int(np.count_nonzero(pm & tm))
            counts(n_pred, label)[z] = int(np.count_nonzero(pm))
            counts(n_truth, label)[z] = int(np.count_nonzero(tm))
        yield Progress(z + 1, 2 * depth, message=f"overlap, slice {z + 1} of {depth}")
    out = []
    labels = sorted(inter)
    for i, label in enumerate(labels):
        a, b, c = inter[label], n_pred[label], n_truth[label]
        ai, bi, ci = int(a.sum()), int(b.sum()), int(c.sum())
        per_slice = [_ratio(2 * int(x), int(y) + int(w)) for x, y, w in zip(a, b, c, strict=True)]
        masks = _stack(pred, truth, label, depth)
        out.append(
            ClassScores(
                label,
                dice=_ratio(2 * ai, bi + ci),
                iou=_ratio(ai, bi + ci - ai),
                hd95_mm=hd95(masks[0], masks[1], spacing),
                truth_voxels=ci,
                predicted_voxels=bi,
                dice_per_slice=per_slice,
            )
        )
        yield Progress(depth + int(depth * (i + 1) / len(labels)), 2 * depth, message="HD95")
    return out


def _stack(pred: SliceReader, truth: SliceReader, label: int, depth: int) -> list[np.ndarray]:
    """The label's boolean masks as (rows, cols, slices) volumes."""
    return [np.stack(list(_masks(read, label, depth)), axis=-1) for read in (pred, truth)]


def _masks(read: SliceReader, label: int, depth: int) -> Iterator[np.ndarray]:
    for z in range(depth):
        yield np.asarray(read(z)) == label
