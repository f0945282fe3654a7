"""PQ / SQ / RQ against hand-computed cases (Kirillov et al. definitions)."""

from __future__ import annotations

import numpy as np
import pytest

from segcore.metrics import PanopticQuality

SKY, CAR = 0, 1
V = 255


def columns(values: list[int], rows: int = 4) -> np.ndarray:
    """A rows x len(values) map whose every column holds one value."""
    return np.tile(np.array(values), (rows, 1))


def test_hand_computed_pq() -> None:
    # gt: sky cols 0-3, car #1 cols 4-5, car #2 cols 6-7
    gt_c = columns([SKY] * 4 + [CAR] * 4)
    gt_i = columns([0, 0, 0, 0, 1, 1, 2, 2])
    # pred: sky cols 0-2 + 6, car A cols 3-5, car B col 7
    pr_c = columns([SKY, SKY, SKY, CAR, CAR, CAR, SKY, CAR])
    pr_i = columns([0, 0, 0, 5, 5, 5, 0, 9])
    pq = PanopticQuality(2, things={CAR})
    pq.update(gt_c, gt_i, pr_c, pr_i)
    # sky: IoU 12/20 = 0.6 matched; car #1 vs A: 8/12 matched; car #2 vs B: 4/8 = 0.5, no match
    assert pq.stats[SKY].tp == 1 and pq.stats[SKY].iou == pytest.approx(0.6)
    assert (pq.stats[CAR].tp, pq.stats[CAR].fp, pq.stats[CAR].fn) == (1, 1, 1)
    per = pq.result().per_class
    assert per[SKY] == pytest.approx({"pq": 0.6, "sq": 0.6, "rq": 1.0})
    assert per[CAR] == pytest.approx({"pq": 1 / 3, "sq": 2 / 3, "rq": 0.5})
    assert pq.result().pq == pytest.approx((0.6 + 1 / 3) / 2)
    assert pq.result("things").pq == pytest.approx(1 / 3)
    assert pq.result("stuff").pq == pytest.approx(0.6)


def test_void_is_left_out_of_union_and_false_positives() -> None:
    gt_c = columns([CAR, CAR, V, V, V, V, V, V])
    gt_i = columns([1, 1, 0, 0, 0, 0, 0, 0])
    # car 1 spills onto void (not counted in the union); car 2 lies on void only
    pr_c = columns([CAR, CAR, CAR, SKY, CAR, CAR, CAR, CAR])
    pr_i = columns([1, 1, 1, 0, 2, 2, 2, 2])
    pq = PanopticQuality(2, things={CAR})
    pq.update(gt_c, gt_i, pr_c, pr_i)
    assert (pq.stats[CAR].tp, pq.stats[CAR].fp, pq.stats[CAR].fn) == (1, 0, 0)
    assert pq.stats[CAR].iou == pytest.approx(1.0)
    assert pq.stats[SKY].fp == 0  # the sky column is all void
    assert pq.result().pq == pytest.approx(1.0)


def test_half_on_void_is_still_a_false_positive() -> None:
    gt_c = columns([SKY, SKY, V, V])
    gt_i = columns([0, 0, 0, 0])
    pr_c = columns([SKY, CAR, CAR, SKY])
    pr_i = columns([0, 3, 3, 0])
    pq = PanopticQuality(2, things={CAR})
    pq.update(gt_c, gt_i, pr_c, pr_i)
    # the car is exactly 50 % void: not more than half, so it counts as FP
    assert pq.stats[CAR].fp == 1
    # sky pred: cols 0 and 3 (col 3 void) -> IoU 4 / (8 + 8 - 4 - 4) = 0.5: no match;
    # it is also exactly half void, so it is a false positive too
    assert (pq.stats[SKY].tp, pq.stats[SKY].fn, pq.stats[SKY].fp) == (0, 1, 1)


def test_prediction_on_a_crowd_is_not_a_false_positive() -> None:
    gt_c = columns([CAR, CAR, CAR, CAR])
    gt_i = columns([0, 0, 0, 4])  # cols 0-2 a crowd of cars, col 3 car #4
    pr_c = columns([CAR, CAR, CAR, CAR])
    pr_i = columns([7, 7, 7, 8])
    pq = PanopticQuality(2, things={CAR})
    pq.update(gt_c, gt_i, pr_c, pr_i)
    assert (pq.stats[CAR].tp, pq.stats[CAR].fp, pq.stats[CAR].fn) == (1, 0, 0)


def test_windows_of_one_image_equal_the_whole() -> None:
    rng = np.random.default_rng(1)
    gt_c = rng.integers(0, 3, (16, 16))
    gt_i = np.where(gt_c == 2, rng.integers(1, 4, (16, 16)), 0)
    pr_c = np.where(rng.random((16, 16)) < 0.8, gt_c, 1)
    pr_i = np.where(pr_c == 2, gt_i, 0)
    whole, parts = PanopticQuality(3, things={2}), PanopticQuality(3, things={2})
    whole.update(gt_c, gt_i, pr_c, pr_i)
    for y in (0, 5, 11):
        rows = slice(y, y + [5, 6, 5][[0, 5, 11].index(y)])
        parts.add(gt_c[rows], gt_i[rows], pr_c[rows], pr_i[rows])
    parts.end_image()
    assert whole.result() == parts.result()
    assert whole.result().n == 3
