"""The best checkpoint's rank and the summary's per-class lines and warnings (no training)."""

from __future__ import annotations

from typing import Any

import numpy as np

from segcore.labels.schema import make_classes
from segcore.training.config import EpochRecord, TrainResult
from segcore.training.loop import rank
from segcore.training.report import result_warnings, summary_lines
from segcore.training.validation import confusion, iou_per_class, mean_iou


def _record(epoch: int, miou: float, missed: tuple[int, ...] = ()) -> EpochRecord:
    return EpochRecord(epoch, 0.5, miou, (miou, None), 1e-3, 1.0, missed=missed)


def test_an_epoch_missing_a_class_never_outranks_one_predicting_all() -> None:
    constant = _record(1, 1.0, missed=(1,))  # "all background" where validation has no road
    honest = _record(2, 0.41)
    assert constant.degenerate and not honest.degenerate
    assert rank(honest, 2) > rank(constant, 2)
    assert rank(_record(3, 0.5, missed=(1,)), 3) > rank(_record(4, 0.9, missed=(1, 2)), 3)


def test_a_class_absent_from_validation_counts_its_false_positives() -> None:
    # validation holds only background; the model calls half of it road
    target = np.zeros((2, 2), np.uint8)
    pred = np.array([[0, 0], [1, 1]], np.uint8)
    conf = confusion(pred, target, 2)
    assert iou_per_class(conf).tolist() == [0.5, 0.0]
    assert mean_iou(conf) == 0.25  # not 0.5: road's false positives count
    # where one road pixel is labelled, "all background" misses it: (0.75 + 0) / 2
    target[1, 1] = 1
    assert mean_iou(confusion(np.zeros((2, 2), np.uint8), target, 2)) == 0.375


def _result(**changes: Any) -> TrainResult:
    classes = make_classes(["background", "road", "wire"])
    meta = type("Meta", (), {"classes": classes})()
    options: dict[str, Any] = {
        "module": None,
        "meta": meta,
        "path": None,
        "best_miou": 0.6,
        "best_epoch": 1,
        "history": (EpochRecord(1, 0.3, 0.6, (0.9, 0.3, None), 1e-3, 9.0, missed=(2,)),),
        "stopped": "completed",
        "held_out": True,
        "seconds": 9.0,
        "train_pixels": (5000, 300, 40),
        "val_pixels": (1200, 120, 0),
    }
    options.update(changes)
    return TrainResult(**options)


def test_warnings_say_how_thin_validation_is() -> None:
    warnings = result_warnings(_result())
    assert any("only 120 labelled pixels of 'road'" in w for w in warnings)
    assert any("no labelled pixel of 'wire'" in w for w in warnings)
    assert any("never predicted 'wire'" in w for w in warnings)
    assert not any("'background'" in w for w in warnings)
    flat = result_warnings(_result(held_out=False))
    assert any("measured on the training labels" in w for w in flat)


def test_summary_lists_every_class_with_pixel_counts() -> None:
    result = _result()
    lines = summary_lines(
        TrainResult(**{**result.__dict__, "warnings": tuple(result_warnings(result))})
    )
    assert lines[0].startswith("best validation mIoU 0.6000 at epoch 1 (completed")
    assert (
        "road" in lines[2] and "0.3000" in lines[2] and "300 training, 120 validation" in lines[2]
    )
    assert "wire" in lines[3] and "IoU -" in lines[3]
    assert all(line.startswith("warning: ") for line in lines[4:]) and len(lines) > 4
