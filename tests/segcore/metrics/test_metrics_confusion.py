"""Semantic scores against hand-computed values on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segcore.errors import LabelError
from segcore.metrics import ConfusionMatrix

PRED = np.array([[0, 1, 1], [2, 2, 255]])
GT = np.array([[0, 0, 1], [2, 1, 255]])


def test_hand_computed_scores() -> None:
    cm = ConfusionMatrix(3)
    cm.update(PRED, GT)
    assert cm.matrix.tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]]
    s = cm.scores()
    assert s.iou.tolist() == pytest.approx([1 / 2, 1 / 3, 1 / 2])
    assert s.dice.tolist() == pytest.approx([2 / 3, 1 / 2, 2 / 3])
    assert s.precision.tolist() == pytest.approx([1, 1 / 2, 1 / 2])
    assert s.recall.tolist() == pytest.approx([1 / 2, 1 / 2, 1])
    assert s.support.tolist() == [2, 2, 1]
    assert s.miou == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert s.pixel_accuracy == pytest.approx(3 / 5)
    assert s.mean_accuracy == pytest.approx(2 / 3)


def test_unlabelled_prediction_is_a_miss_and_absent_class_is_left_out() -> None:
    cm = ConfusionMatrix(4)
    cm.update(np.array([255, 0, 1]), np.array([0, 0, 1]))
    s = cm.scores()
    assert s.iou[0] == pytest.approx(1 / 2)  # one hit, one miss (pred unlabelled)
    assert s.iou[1] == 1.0
    assert math.isnan(s.iou[2]) and math.isnan(s.iou[3])
    assert s.miou == pytest.approx(0.75)
    assert s.pixel_accuracy == pytest.approx(2 / 3)


def test_predicted_only_class_counts_in_miou() -> None:
    cm = ConfusionMatrix(2)
    cm.update(np.array([1, 0]), np.array([0, 0]))
    s = cm.scores()
    assert s.iou.tolist() == [0.5, 0.0]
    assert s.miou == 0.25
    assert math.isnan(s.recall[1]) and s.precision[1] == 0.0
    assert s.mean_accuracy == 0.5  # only class 0 is in the ground truth


def test_custom_ignore_value() -> None:
    cm = ConfusionMatrix(2, ignore=0)
    cm.update(np.array([1, 1, 0]), np.array([0, 1, 1]))
    assert cm.matrix.tolist() == [[0, 0, 0], [1, 1, 0]]


def test_bad_input_raises_label_errors() -> None:
    cm = ConfusionMatrix(2)
    with pytest.raises(LabelError, match="shape"):
        cm.update(np.zeros(3), np.zeros(4))
    with pytest.raises(LabelError, match="class 7"):
        cm.update(np.zeros(2), np.array([0, 7]))
    with pytest.raises(LabelError):
        ConfusionMatrix(0)


def test_json_has_names_and_nulls() -> None:
    cm = ConfusionMatrix(3)
    cm.update(np.array([0]), np.array([0]))
    data = cm.scores().to_json(["a", "b", "c"])
    assert data["per_class"][0] == {
        "class": "a",
        "iou": 1.0,
        "dice": 1.0,
        "precision": 1.0,
        "recall": 1.0,
        "support": 1,
    }
    assert data["per_class"][1]["iou"] is None and data["miou"] == 1.0


@settings(max_examples=40, deadline=None)
@given(
    data=st.tuples(
        arrays(np.uint8, (12, 9), elements=st.sampled_from([0, 1, 2, 3, 255])),
        arrays(np.uint8, (12, 9), elements=st.sampled_from([0, 1, 2, 3, 255])),
    ),
    cut=st.integers(1, 11),
)
def test_chunks_add_up_to_the_whole(data: tuple[np.ndarray, np.ndarray], cut: int) -> None:
    pred, gt = data
    whole, parts = ConfusionMatrix(4), ConfusionMatrix(4)
    whole.update(pred, gt)
    parts.update(pred[:cut], gt[:cut])
    other = ConfusionMatrix(4)
    other.update(pred[cut:], gt[cut:])
    parts.merge(other)
    assert np.array_equal(whole.matrix, parts.matrix)
    labelled = gt != 255
    assert whole.matrix.sum() == labelled.sum()
    assert np.trace(whole.matrix[:, :4]) == (pred == gt)[labelled].sum()


def test_compare_job_over_windows_equals_one_update() -> None:
    from segcore.io.array import ArraySource
    from segcore.jobs import run_to_end
    from segcore.labels.adapters import ArrayLabels, SourceLabels
    from segcore.labels.schema import make_classes
    from segcore.metrics.compare import compare_semantic

    rng = np.random.default_rng(3)
    gt = rng.integers(0, 3, (37, 41)).astype(np.uint8)
    gt[:5] = 255
    pred = rng.integers(0, 3, (37, 41)).astype(np.uint8)
    classes = make_classes(["a", "b", "c"])
    steps = []
    job = compare_semantic(
        SourceLabels(ArraySource(pred), classes), ArrayLabels(gt, classes), window=10
    )
    cm = run_to_end(job, steps.append)
    ref = ConfusionMatrix(3)
    ref.update(pred, gt)
    assert np.array_equal(cm.matrix, ref.matrix)
    assert steps[-1].done == steps[-1].total == 37 * 41 and len(steps) == 20


def test_compare_refuses_other_sizes() -> None:
    from segcore.jobs import run_to_end
    from segcore.labels.adapters import ArrayLabels
    from segcore.labels.schema import make_classes
    from segcore.metrics.compare import compare_semantic

    classes = make_classes(["a"])
    a = ArrayLabels(np.zeros((3, 3), np.uint8), classes)
    b = ArrayLabels(np.zeros((3, 4), np.uint8), classes)
    with pytest.raises(LabelError, match="3 x 3 but the labels are 4 x 3"):
        run_to_end(compare_semantic(a, b))
