"""Uncertainty measures and tile ranking, with a model whose logits are its input."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from segcore.errors import TrainingError
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.schema import make_classes
from segcore.models.meta import ModelMeta, Normalization
from segcore.training.uncertainty import UncertainTile, rank_uncertain_tiles, uncertainty


def _identity_model() -> SimpleNamespace:
    """Logits = the two input bands (scale 1, no normalisation)."""
    meta = ModelMeta(
        arch="identity",
        config={},
        in_channels=2,
        classes=tuple(make_classes(["a", "b"])),
        normalization=Normalization((0.0, 0.0), (1.0, 1.0), 1.0),
        output_stride=1,
        receptive_field=0,
        exact=True,
    )
    return SimpleNamespace(module=nn.Identity(), meta=meta)


def _entropy(d: float) -> float:
    p = 1 / (1 + math.exp(-d))
    return -(p * math.log(p) + (1 - p) * math.log(1 - p)) / math.log(2)


def _image(diffs: dict[tuple[int, int], float], size: int = 64, tile: int = 32) -> np.ndarray:
    image = np.zeros((size, size, 2), np.float32)
    for (x, y), d in diffs.items():
        image[y : y + tile, x : x + tile, 0] = d
    return image


def test_measures_by_hand() -> None:
    p = torch.tensor([0.7, 0.2, 0.1]).view(3, 1, 1)
    assert float(uncertainty(p, "margin")) == pytest.approx(0.5)
    expected = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)) / math.log(3)
    assert float(uncertainty(p, "entropy")) == pytest.approx(expected)
    sure = torch.tensor([1.0, 0.0]).view(2, 1, 1)
    assert float(uncertainty(sure, "entropy")) == pytest.approx(0.0, abs=1e-9)
    assert float(uncertainty(sure, "margin")) == 0.0
    with pytest.raises(TrainingError, match="unknown uncertainty measure"):
        uncertainty(p, "gini")  # type: ignore[arg-type]


def test_tiles_ranked_most_uncertain_first() -> None:
    diffs = {(0, 0): 0.0, (32, 0): 1.0, (0, 32): 5.0, (32, 32): 2.0}
    ranked = run_to_end(rank_uncertain_tiles(_identity_model(), _image(diffs), tile=32))
    assert [(t.x, t.y) for t in ranked] == [(0, 0), (32, 0), (32, 32), (0, 32)]
    for t in ranked:
        assert (t.w, t.h) == (32, 32)
        assert t.score == pytest.approx(_entropy(diffs[(t.x, t.y)]), abs=0.5 / 255)
    margin = run_to_end(
        rank_uncertain_tiles(_identity_model(), _image(diffs), tile=32, measure="margin", top=2)
    )
    assert margin[0] == UncertainTile(0, 0, 32, 32, pytest.approx(1.0))  # type: ignore[arg-type]
    assert len(margin) == 2


def test_labelled_pixels_are_left_out() -> None:
    diffs = {(0, 0): 0.0, (32, 0): 1.0, (0, 32): 5.0, (32, 32): 2.0}
    mask = np.full((64, 64), 255, np.uint8)
    mask[:32, :32] = 0  # the most uncertain tile is already labelled
    mask[32:, 32:48] = 1  # half of another one too
    ranked = run_to_end(
        rank_uncertain_tiles(_identity_model(), _image(diffs), tile=32, labels=ArrayLabels(mask))
    )
    assert [(t.x, t.y) for t in ranked] == [(32, 0), (32, 32), (0, 32)]


def test_coarse_level_reports_level0_windows() -> None:
    image = np.zeros((512, 512, 2), np.float32)
    image[256:, 256:, 0] = 4.0  # sure there, unsure elsewhere
    ranked = run_to_end(rank_uncertain_tiles(_identity_model(), image, tile=128, level=1))
    assert {(t.x, t.y, t.w, t.h) for t in ranked} == {
        (0, 0, 256, 256),
        (256, 0, 256, 256),
        (0, 256, 256, 256),
        (256, 256, 256, 256),
    }
    assert (ranked[-1].x, ranked[-1].y) == (256, 256)


def test_band_count_mismatch() -> None:
    with pytest.raises(TrainingError, match="3 band"):
        run_to_end(rank_uncertain_tiles(_identity_model(), np.zeros((8, 8, 3), np.float32)))
