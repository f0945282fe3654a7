"""Instance AP: hand cases, and the same numbers as pycocotools fed directly."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from pycocotools import mask as mask_util
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segcore.errors import LabelError
from segcore.labels.adapters import ArrayLabels
from segcore.labels.schema import ClassInfo
from segcore.metrics.instance import STAT_NAMES, coco_ap

CLASSES = [ClassInfo(0, "bg", (0, 0, 0)), ClassInfo(1, "cell", (255, 0, 0), thing=True)]


def one_object(y0: int, x0: int, size: int, shape: tuple[int, int] = (40, 40)) -> ArrayLabels:
    cls = np.zeros(shape, np.uint8)
    inst = np.zeros(shape, np.uint32)
    cls[y0 : y0 + size, x0 : x0 + size] = 1
    inst[y0 : y0 + size, x0 : x0 + size] = 1
    return ArrayLabels(cls, CLASSES, inst)


def test_perfect_prediction_scores_one() -> None:
    gt = one_object(5, 5, 10)
    assert coco_ap([gt], [one_object(5, 5, 10)]).ap == pytest.approx(1.0)


def test_iou_064_matches_thresholds_050_to_060_only() -> None:
    # 8 x 8 inside 10 x 10: IoU 64 / 100 -> matched at 0.50, 0.55, 0.60 of ten thresholds
    result = coco_ap([one_object(5, 5, 10)], [one_object(6, 6, 8)])
    assert result.stats["AP50"] == pytest.approx(1.0)
    assert result.stats["AP75"] == pytest.approx(0.0)
    assert result.ap == pytest.approx(0.3)


def test_no_predictions_scores_zero() -> None:
    empty = ArrayLabels(np.zeros((40, 40), np.uint8), CLASSES)
    assert coco_ap([one_object(5, 5, 10)], [empty]).ap == 0.0


def test_size_mismatch_is_an_error() -> None:
    with pytest.raises(LabelError, match="40 x 40"):
        coco_ap([one_object(5, 5, 10)], [one_object(1, 1, 3, shape=(20, 20))])


def _random_instances(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    cls = np.zeros((48, 64), np.uint8)
    inst = np.zeros((48, 64), np.uint32)
    for k in range(1, n + 1):
        y, x = rng.integers(0, 40), rng.integers(0, 56)
        h, w = rng.integers(3, 12, 2)
        cls[y : y + h, x : x + w] = 1
        inst[y : y + h, x : x + w] = k
    return cls, inst


def _direct_pycocotools(
    gt_inst: np.ndarray, pred_inst: np.ndarray, scores: dict[int, float]
) -> np.ndarray:
    def anns(inst: np.ndarray) -> list[dict]:
        out = []
        for k in np.unique(inst[inst > 0]).tolist():
            m = np.asfortranarray((inst == k).astype(np.uint8))
            rle = mask_util.encode(m)
            rle["counts"] = rle["counts"].decode()
            out.append(
                {
                    "image_id": 1,
                    "category_id": 2,
                    "segmentation": rle,
                    "iscrowd": 0,
                    "area": float(m.sum()),
                    "bbox": mask_util.toBbox(rle).tolist(),
                    "k": k,
                }
            )
        return out

    gt, dt = anns(gt_inst), anns(pred_inst)
    for n, a in enumerate(gt + dt):
        a["id"] = n + 1
    for a in dt:
        a["score"] = scores[a["k"]]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": [{"id": 1, "width": 64, "height": 48}],
            "annotations": gt,
            "categories": [{"id": 2, "name": "cell"}],
        }
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(dt), "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def test_matches_pycocotools_on_random_objects() -> None:
    rng = np.random.default_rng(7)
    gt_cls, gt_inst = _random_instances(rng, 9)
    pred_cls, pred_inst = gt_cls.copy(), gt_inst.copy()
    # disturb the prediction: shift some objects, drop one, add a false one
    pred_inst = np.roll(pred_inst, 2, axis=1)
    pred_cls = np.roll(pred_cls, 2, axis=1)
    pred_inst[pred_inst == 3] = 0
    pred_cls[pred_inst == 0] = 0
    pred_cls[0:4, 0:4], pred_inst[0:4, 0:4] = 1, 50
    ids = np.unique(pred_inst[pred_inst > 0]).tolist()
    scores = {k: float(s) for k, s in zip(ids, rng.random(len(ids)), strict=True)}
    ours = coco_ap(
        [ArrayLabels(gt_cls, CLASSES, gt_inst)],
        [ArrayLabels(pred_cls, CLASSES, pred_inst)],
        scores=[scores],
        window=16,
    )
    direct = _direct_pycocotools(gt_inst, pred_inst, scores)
    assert [ours.stats[n] for n in STAT_NAMES] == pytest.approx(direct.tolist())
    assert 0.0 < ours.ap < 1.0
