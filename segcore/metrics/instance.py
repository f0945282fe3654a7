"""Instance segmentation AP, COCO-style, computed by pycocotools' ``COCOeval``.

Ground truth and predictions are label maps (class map + instance map). Each
object becomes a COCO annotation whose mask is RLE-encoded from its bounding
box, in column strips (see :func:`segcore.labels.segments.segment_rle`); thing pixels
without an instance in the ground truth become ``iscrowd`` regions, which
COCOeval ignores matches against, as in COCO.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from segcore.errors import LabelError
from segcore.jobs import run_to_end
from segcore.labels.reader import LabelReader
from segcore.labels.segments import scan_segments, segment_rle

STAT_NAMES = (
    "AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
    "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large",
)  # fmt: skip


@dataclass(frozen=True)
class InstanceScores:
    """COCOeval's twelve summary numbers (``-1`` where COCO has no such objects)."""

    stats: dict[str, float]

    @property
    def ap(self) -> float:
        return self.stats["AP"]


def _annotations(
    labels: LabelReader, image_id: int, *, window: int, crowds: bool
) -> list[dict[str, Any]]:
    things = {c.id for c in labels.classes if c.thing}
    anns = []
    for seg in run_to_end(scan_segments(labels, window)):
        crowd = seg.instance == 0
        if crowd and (not crowds or seg.class_id not in things):
            continue
        anns.append(
            {
                "image_id": image_id,
                "category_id": seg.class_id + 1,
                "segmentation": segment_rle(labels, seg, window),
                "area": float(seg.area),
                "bbox": [float(v) for v in seg.bbox],
                "iscrowd": int(crowd),
                "instance": seg.instance,
            }
        )
    return anns


def coco_ap(
    gt: Sequence[LabelReader],
    pred: Sequence[LabelReader],
    *,
    scores: Sequence[Mapping[int, float]] | None = None,
    window: int = 2048,
) -> InstanceScores:
    """COCO mask AP of predicted objects against ground-truth objects over several images.

    Parameters
    ----------
    gt, pred
        One label reader per image, in the same order and of the same sizes.
    scores
        Per image, the confidence of each predicted instance id (1.0 when absent).
    window
        Window size for scanning the label maps.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(gt) != len(pred) or not gt:
        raise LabelError(f"need as many predictions as ground truths, got {len(pred)}/{len(gt)}")
    images, gt_anns, dt_anns = [], [], []
    classes = {c.id: c for g in gt for c in g.classes}
    for k, (g, p) in enumerate(zip(gt, pred, strict=True)):
        if (g.width, g.height) != (p.width, p.height):
            raise LabelError(
                f"image {k}: prediction is {p.width} x {p.height}, "
                f"ground truth {g.width} x {g.height}"
            )
        images.append({"id": k + 1, "width": g.width, "height": g.height, "file_name": str(k)})
        gt_anns += _annotations(g, k + 1, window=window, crowds=True)
        for ann in _annotations(p, k + 1, window=window, crowds=False):
            conf = scores[k].get(ann["instance"], 1.0) if scores is not None else 1.0
            ann["score"] = float(conf)
            dt_anns.append(ann)
    for n, ann in enumerate(gt_anns + dt_anns):
        ann["id"] = n + 1
    categories = [{"id": c + 1, "name": classes[c].name} for c in sorted(classes)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": gt_anns, "categories": categories}
        coco_gt.createIndex()
        if not dt_anns:
            none = dict.fromkeys(STAT_NAMES, 0.0 if gt_anns else -1.0)
            return InstanceScores(none)
        coco_dt = coco_gt.loadRes(dt_anns)
        evaluator = COCOeval(coco_gt, coco_dt, "segm")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return InstanceScores(dict(zip(STAT_NAMES, (float(v) for v in evaluator.stats), strict=True)))
