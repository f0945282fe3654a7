"""Each loss against a value worked out by hand on a 3-pixel image.

Pixel A: logits (0, 0)      -> p = (1/2, 1/2), true class 0
Pixel B: logits (0, ln 3)   -> p = (1/4, 3/4), true class 1
Pixel C: logits (5, -5), UNLABELLED -> ignored everywhere
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from segcore.errors import TrainingError
from segcore.training.losses import (
    class_weights_from_counts,
    cross_entropy,
    dice,
    focal,
    logcosh_dice,
    make_loss,
    parse_loss,
)

LN2, LN43 = math.log(2.0), math.log(4.0 / 3.0)


@pytest.fixture
def tiny() -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.tensor([[[[0.0, 0.0, 5.0]], [[0.0, math.log(3.0), -5.0]]]])  # (1, 2, 1, 3)
    target = torch.tensor([[[0, 1, 255]]])
    return logits, target


def test_cross_entropy(tiny: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = tiny
    assert cross_entropy(logits, target).item() == pytest.approx((LN2 + LN43) / 2)


def test_cross_entropy_pixel_weights(tiny: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = tiny
    weight = torch.tensor([[[1.0, 3.0, 100.0]]])  # the ignored pixel's weight must not count
    assert cross_entropy(logits, target, weight).item() == pytest.approx((LN2 + 3 * LN43) / 4)


def test_class_balanced_cross_entropy(tiny: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = tiny
    loss = make_loss("balanced_ce", class_counts=[3, 1])  # weights 4/6 and 4/2
    w0, w1 = 2 / 3, 2.0
    assert loss(logits, target).item() == pytest.approx((w0 * LN2 + w1 * LN43) / (w0 + w1))


def test_class_weights_from_counts() -> None:
    np.testing.assert_allclose(class_weights_from_counts([30, 10, 0]), [2 / 3, 2.0, 0.0])
    assert class_weights_from_counts([0, 0]).tolist() == [0.0, 0.0]


def test_focal(tiny: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = tiny
    expected = (0.25 * LN2 + 0.0625 * LN43) / 2  # (1 - p_t)^2 * -log p_t
    assert focal(logits, target, gamma=2.0).item() == pytest.approx(expected)
    assert focal(logits, target, gamma=2.0, alpha=0.25).item() == pytest.approx(0.25 * expected)
    assert focal(logits, target, gamma=0.0).item() == pytest.approx((LN2 + LN43) / 2)


def test_dice(tiny: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = tiny
    # class 0: 2*0.5+1 / (0.75+1+1); class 1: 2*0.75+1 / (1.25+1+1)
    expected = 1 - (2 / 2.75 + 2.5 / 3.25) / 2
    assert dice(logits, target).item() == pytest.approx(expected)
    assert logcosh_dice(logits, target).item() == pytest.approx(math.log(math.cosh(expected)))


def test_dice_averages_only_labelled_classes() -> None:
    logits = torch.zeros(1, 3, 1, 2)  # p = 1/3 each
    target = torch.tensor([[[0, 0]]])
    # class 0 only: (2 * 2/3 + 1) / (2/3 + 2 + 1)
    assert dice(logits, target).item() == pytest.approx(1 - (7 / 3) / (11 / 3))


def test_sum_of_losses(tiny: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = tiny
    loss = make_loss("0.5*ce+dice")
    expected = 0.5 * (LN2 + LN43) / 2 + 1 - (2 / 2.75 + 2.5 / 3.25) / 2
    assert loss(logits, target).item() == pytest.approx(expected)


def test_all_ignored_is_zero_and_differentiable() -> None:
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    target = torch.full((1, 2, 2), 255)
    loss = make_loss("ce+focal+dice")(logits, target)
    loss.backward()
    assert loss.item() == 0.0
    assert logits.grad is not None and float(logits.grad.abs().sum()) == 0.0


def test_parse_loss() -> None:
    terms = parse_loss("0.5*focal + dice")
    assert [(t.name, t.factor) for t in terms] == [("focal", 0.5), ("dice", 1.0)]
    with pytest.raises(TrainingError, match="unknown loss 'bce'"):
        parse_loss("bce")
    with pytest.raises(TrainingError, match="positive"):
        parse_loss("-1*ce")
    with pytest.raises(TrainingError, match="class"):
        make_loss("balanced_ce")
