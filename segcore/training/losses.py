"""Segmentation losses that honour an ignore index and per-pixel weights.

Every loss takes ``logits`` (N, C, H, W), ``target`` (N, H, W) int64 class ids
where :data:`~segcore.labels.schema.UNLABELLED` (255) marks pixels nobody
labelled, and an optional ``weight`` (N, H, W) per-pixel weight (recently
corrected regions count more). Ignored pixels contribute nothing, not even to
the denominator of a mean.

Losses are built from a short spec string, so the CLI and the GUI can offer
them by name: ``"ce"``, ``"balanced_ce"``, ``"focal"``, ``"dice"``,
``"logcosh_dice"``, and weighted sums such as ``"ce+dice"`` or
``"0.5*focal+dice"``.

>>> loss = make_loss("ce+dice", num_classes=3)  # doctest: +SKIP
>>> value = loss(logits, target)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from segcore.errors import TrainingError
from segcore.labels.schema import UNLABELLED

LOSS_NAMES = ("ce", "balanced_ce", "focal", "dice", "logcosh_dice")


def _safe_target_and_weight(
    target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``target`` with ignored pixels set to class 0, and each pixel's float weight (0 there)."""
    valid = target != ignore_index
    w = valid.to(torch.float32)
    if weight is not None:
        w = w * weight.to(torch.float32)
    return torch.where(valid, target, torch.zeros_like(target)), w


def _weighted_mean(values: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    total = w.sum()
    if float(total) <= 0.0:
        return values.sum() * 0.0  # keeps the graph; no labelled pixel in this batch
    return (values * w).sum() / total


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    class_weights: torch.Tensor | None = None,
    ignore_index: int = UNLABELLED,
) -> torch.Tensor:
    """Mean cross-entropy over labelled pixels.

    With ``class_weights`` each pixel's loss is multiplied by the weight of its
    true class and the mean divides by the sum of those weights (PyTorch's
    weighted mean), so balanced and plain CE agree when all weights are equal.
    """
    safe, w = _safe_target_and_weight(target, weight, ignore_index)
    per_pixel = F.cross_entropy(logits.float(), safe, reduction="none")
    if class_weights is not None:
        w = w * class_weights.to(logits.device, torch.float32)[safe]
    return _weighted_mean(per_pixel, w)


def focal(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    gamma: float = 2.0,
    alpha: float | None = None,
    ignore_index: int = UNLABELLED,
) -> torch.Tensor:
    """Focal loss ``-alpha (1 - p_t)^gamma log p_t`` averaged over labelled pixels.

    ``alpha`` (when given) scales every pixel's term; with ``gamma = 0`` and no
    alpha this is plain cross-entropy.
    """
    safe, w = _safe_target_and_weight(target, weight, ignore_index)
    log_p = F.log_softmax(logits.float(), dim=1).gather(1, safe[:, None]).squeeze(1)
    per_pixel = -((1.0 - log_p.exp()) ** gamma) * log_p
    if alpha is not None:
        per_pixel = per_pixel * alpha
    return _weighted_mean(per_pixel, w)


def dice(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    smooth: float = 1.0,
    ignore_index: int = UNLABELLED,
) -> torch.Tensor:
    """Soft Dice loss ``1 - mean_c (2 sum(p g) + s) / (sum p + sum g + s)``.

    Sums run over the labelled pixels of the whole batch; the mean runs over the
    classes present in the labelled target (a class absent from the batch has no
    overlap to reward, so it would only push its probability to zero).
    """
    safe, w = _safe_target_and_weight(target, weight, ignore_index)
    num_classes = logits.shape[1]
    prob = F.softmax(logits.float(), dim=1) * w[:, None]
    onehot = F.one_hot(safe, num_classes).permute(0, 3, 1, 2).to(torch.float32) * w[:, None]
    dims = (0, 2, 3)
    inter = (prob * onehot).sum(dims)
    denom = prob.sum(dims) + onehot.sum(dims)
    score = (2.0 * inter + smooth) / (denom + smooth)
    present = onehot.sum(dims) > 0
    if not bool(present.any()):
        return logits.sum() * 0.0
    return 1.0 - score[present].mean()


def logcosh_dice(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    smooth: float = 1.0,
    ignore_index: int = UNLABELLED,
) -> torch.Tensor:
    """``log(cosh(dice_loss))``: Dice smoothed near zero (Jadon, 2020)."""
    return torch.log(
        torch.cosh(dice(logits, target, weight, smooth=smooth, ignore_index=ignore_index))
    )


def class_weights_from_counts(
    counts: Sequence[int] | np.ndarray, *, power: float = 1.0
) -> np.ndarray:
    """Class weights ``a * count_c ** -power`` for the classes present (inverse frequency at 1).

    Classes never labelled get weight 0 (they have no pixels to weigh anyway).
    ``a`` makes the mean weight over all labelled pixels 1, so the loss keeps the
    scale of plain cross-entropy. ``power = 1`` gives ``total / (k * count_c)``;
    ``0.5`` (the square root) lifts a rare class without letting a handful of
    pixels dominate the loss.

    >>> class_weights_from_counts([30, 10, 0]).tolist()
    [0.6666666666666666, 2.0, 0.0]
    """
    c = np.asarray(counts, dtype=np.float64)
    present = c > 0
    out = np.zeros_like(c)
    if present.any():
        raw = c[present] ** -power
        out[present] = raw * c[present].sum() / (c[present] * raw).sum()
    return out


FREQUENCY_POWER = 0.5
"""The power of the default class weights (``class_weights=True``): see docs/decisions."""


@dataclass(frozen=True)
class LossTerm:
    """One term of a loss sum: ``factor * name``."""

    name: str
    factor: float = 1.0


def parse_loss(spec: str) -> tuple[LossTerm, ...]:
    """Parse ``"0.5*ce+dice"`` into terms; unknown names raise TrainingError."""
    terms = []
    for part in spec.replace(" ", "").split("+"):
        factor_text, _, name = part.rpartition("*")
        if name not in LOSS_NAMES:
            raise TrainingError(
                f"unknown loss {name!r} in {spec!r}; use {', '.join(LOSS_NAMES)} "
                "or sums like 'ce+dice' and '0.5*focal+dice'"
            )
        try:
            factor = float(factor_text) if factor_text else 1.0
        except ValueError as exc:
            raise TrainingError(f"bad factor {factor_text!r} in loss {spec!r}") from exc
        if not math.isfinite(factor) or factor <= 0:
            raise TrainingError(f"loss factor must be positive, got {factor_text!r} in {spec!r}")
        terms.append(LossTerm(name, factor))
    return tuple(terms)


class SegmentationLoss(torch.nn.Module):
    """A weighted sum of the losses above, called as ``loss(logits, target, weight=None)``."""

    def __init__(
        self,
        terms: Sequence[LossTerm],
        *,
        class_weights: torch.Tensor | None = None,
        frequency_weights: torch.Tensor | None = None,
        focal_gamma: float = 2.0,
        focal_alpha: float | None = None,
        ignore_index: int = UNLABELLED,
    ) -> None:
        super().__init__()
        self.terms = tuple(terms)
        self.class_weights = class_weights
        self.frequency_weights = frequency_weights
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.ignore_index = ignore_index

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        total = logits.new_zeros((), dtype=torch.float32)
        for term in self.terms:
            total = total + term.factor * self._one(term.name, logits, target, weight)
        return total

    def _one(
        self, name: str, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None
    ) -> torch.Tensor:
        ig = self.ignore_index
        if name == "ce":
            return cross_entropy(
                logits, target, weight, class_weights=self.frequency_weights, ignore_index=ig
            )
        if name == "balanced_ce":
            return cross_entropy(
                logits, target, weight, class_weights=self.class_weights, ignore_index=ig
            )
        if name == "focal":
            return focal(
                logits,
                target,
                _times_class_weight(weight, target, self.frequency_weights, ig),
                gamma=self.focal_gamma,
                alpha=self.focal_alpha,
                ignore_index=ig,
            )
        if name == "dice":
            return dice(logits, target, weight, ignore_index=ig)
        return logcosh_dice(logits, target, weight, ignore_index=ig)


def _times_class_weight(
    weight: torch.Tensor | None,
    target: torch.Tensor,
    class_weights: torch.Tensor | None,
    ignore_index: int,
) -> torch.Tensor | None:
    """Per-pixel weights times the weight of each pixel's true class (focal's class weights)."""
    if class_weights is None:
        return weight
    safe = torch.where(target != ignore_index, target, torch.zeros_like(target))
    per_pixel = class_weights.to(target.device, torch.float32)[safe]
    return per_pixel if weight is None else per_pixel * weight.to(torch.float32)


def make_loss(
    spec: str,
    *,
    class_counts: Sequence[int] | np.ndarray | None = None,
    weighted: bool = False,
    focal_gamma: float = 2.0,
    focal_alpha: float | None = None,
    ignore_index: int = UNLABELLED,
) -> SegmentationLoss:
    """Build the loss named by ``spec``.

    Parameters
    ----------
    spec
        ``"ce"``, ``"balanced_ce"``, ``"focal"``, ``"dice"``, ``"logcosh_dice"`` or a
        weighted sum such as ``"ce+dice"``.
    class_counts
        Labelled pixels per class id; needed by ``balanced_ce`` and ``weighted``.
    weighted
        Weigh ``ce`` and ``focal`` by label frequency (:data:`FREQUENCY_POWER`), so
        a rare class counts; ``balanced_ce`` always weighs by inverse frequency.
    focal_gamma, focal_alpha
        Focal loss parameters.
    """
    terms = parse_loss(spec)
    weights = frequency = None
    if any(t.name == "balanced_ce" for t in terms) or weighted:
        if class_counts is None:
            raise TrainingError("class weights need the labelled pixel count of every class")
        weights = torch.as_tensor(class_weights_from_counts(class_counts), dtype=torch.float32)
    if weighted and class_counts is not None:
        frequency = torch.as_tensor(
            class_weights_from_counts(class_counts, power=FREQUENCY_POWER), dtype=torch.float32
        )
    return SegmentationLoss(
        terms,
        class_weights=weights,
        frequency_weights=frequency,
        focal_gamma=focal_gamma,
        focal_alpha=focal_alpha,
        ignore_index=ignore_index,
    )
