"""Comparing readers window by window: a box, predicted pixels only, panoptic quality."""

from __future__ import annotations

import numpy as np

from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.metrics.compare import compare_panoptic, compare_semantic

CLASSES = make_classes(["a", "b"])


def test_box_and_predicted_only_by_hand() -> None:
    gt = np.array([[0, 0, 1, 1], [0, 0, 1, 1]], np.uint8)
    pred = np.array([[0, 1, 1, UNLABELLED], [0, 1, 1, UNLABELLED]], np.uint8)
    truth, guess = ArrayLabels(gt, CLASSES), ArrayLabels(pred, CLASSES)
    whole = run_to_end(compare_semantic(guess, truth, window=3))
    assert whole.matrix.tolist() == [[2, 2, 0], [0, 2, 2]]  # last column: not a class
    predicted = run_to_end(compare_semantic(guess, truth, predicted_only=True))
    assert predicted.matrix.tolist() == [[2, 2, 0], [0, 2, 0]]
    left = run_to_end(compare_semantic(guess, truth, box=Box(0, 0, 2, 2)))
    assert left.matrix.tolist() == [[2, 2, 0], [0, 0, 0]]


def test_panoptic_of_a_perfect_prediction_is_one() -> None:
    things = make_classes(["ground", "cell"], ["cell"])
    sem = np.zeros((6, 6), np.uint8)
    inst = np.zeros((6, 6), np.uint32)
    sem[1:3, 1:3], inst[1:3, 1:3] = 1, 1
    sem[4:6, 3:6], inst[4:6, 3:6] = 1, 2
    labels = ArrayLabels(sem, things, inst)
    pq = run_to_end(compare_panoptic(labels, labels, num_classes=2, things={1}, window=4))
    assert pq.result("all").pq == 1.0
