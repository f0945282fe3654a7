"""Where to correct next: tiles of an image ranked by the model's uncertainty.

For each tile the model's softmax is computed (with a halo of context so tile
borders do not look uncertain) and turned into a per-pixel uncertainty in
[0, 1]:

* ``entropy``: ``-sum p log p / log C`` (1 when every class is equally likely);
* ``margin``: ``1 - (p_top1 - p_top2)`` (1 when the two best classes tie).

A tile's score is the mean over its pixels (over its still unlabelled pixels
when a label reader is given, so places the user already labelled do not come
back). The GUI steps through the ranked list with Next / Previous.

>>> job = rank_uncertain_tiles(loaded, source, tile=256)  # doctest: +SKIP
>>> ranked = run_to_end(job)  # doctest: +SKIP
>>> ranked[0]  # doctest: +SKIP
UncertainTile(x=512, y=256, w=256, h=256, score=0.61)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from segcore.errors import TrainingError
from segcore.io.array import ArraySource
from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress
from segcore.labels.reader import LabelReader
from segcore.labels.schema import UNLABELLED
from segcore.training.evaluate import predict_probabilities

Measure = Literal["entropy", "margin"]


@dataclass(frozen=True)
class UncertainTile:
    """A window in level-0 pixels and its mean uncertainty (0 sure .. 1 unsure)."""

    x: int
    y: int
    w: int
    h: int
    score: float


def uncertainty(probs: torch.Tensor, measure: Measure = "entropy") -> torch.Tensor:
    """Per-pixel uncertainty in [0, 1] of (C, h, w) class probabilities.

    >>> p = torch.tensor([[[0.5]], [[0.5]]])
    >>> float(uncertainty(p, "entropy")), float(uncertainty(p, "margin"))
    (1.0, 1.0)
    """
    c = probs.shape[0]
    if c < 2:
        return torch.zeros(probs.shape[1:])
    if measure == "entropy":
        p = probs.clamp_min(1e-12)
        return (-(p * p.log()).sum(0) / math.log(c)).clamp(0.0, 1.0)
    if measure == "margin":
        top2 = probs.topk(2, dim=0).values
        return 1.0 - (top2[0] - top2[1])
    raise TrainingError(f"unknown uncertainty measure {measure!r}; use 'entropy' or 'margin'")


def rank_uncertain_tiles(
    model: Any,
    image: ImageSource | np.ndarray,
    *,
    tile: int = 256,
    measure: Measure = "entropy",
    level: int = 0,
    labels: LabelReader | None = None,
    top: int | None = None,
    device: str = "cpu",
) -> Job[list[UncertainTile]]:
    """Rank the tiles of ``image`` by the model's uncertainty, most uncertain first.

    Parameters
    ----------
    model
        A ``LoadedModel`` (anything with ``module`` and ``meta``).
    image
        An image source, or an (h, w[, bands]) array.
    tile
        Tile side in pixels of ``level``.
    measure
        "entropy" or "margin".
    level
        Pyramid level to work on (coarser levels rank a huge image quickly);
        returned windows are always in level-0 pixels.
    labels
        Level-0 label reader; labelled pixels are left out of the score and a
        fully labelled tile is not returned.
    top
        Keep only the ``top`` best tiles.

    Yields
    ------
    Progress
        One per tile.

    Returns
    -------
    list[UncertainTile]
        Sorted by score, highest first.
    """
    module, meta = getattr(model, "module", None), getattr(model, "meta", None)
    if module is None or meta is None:
        raise TrainingError("rank_uncertain_tiles needs a loaded model (module and meta)")
    source = ArraySource(image) if isinstance(image, np.ndarray) else image
    if source.band_count != meta.in_channels:
        raise TrainingError(
            f"{source.path}: image has {source.band_count} band(s) but the model takes "
            f"{meta.in_channels}"
        )
    width, height = source.level_size(level)
    factor = source.level_downsamples[level]
    halo = min(meta.receptive_field or 32, tile)
    windows = [(x, y) for y in range(0, height, tile) for x in range(0, width, tile)]
    scored: list[UncertainTile] = []
    for i, (x, y) in enumerate(windows):
        w, h = min(tile, width - x), min(tile, height - y)
        x0, y0 = max(x - halo, 0), max(y - halo, 0)
        x1, y1 = min(x + w + halo, width), min(y + h + halo, height)
        pixels = source.read_region(level, x0, y0, x1 - x0, y1 - y0)
        probs = predict_probabilities(module, meta, pixels, device=device)
        unsure = uncertainty(probs, measure)[y - y0 : y - y0 + h, x - x0 : x - x0 + w].numpy()
        box = (round(x * factor), round(y * factor), round(w * factor), round(h * factor))
        keep = np.ones(unsure.shape, bool)
        if labels is not None:
            lab = labels.read("semantic", *box)
            # nearest level-0 label of each pixel of this level
            rows = np.minimum((np.arange(h) * factor).astype(int), lab.shape[0] - 1)
            cols = np.minimum((np.arange(w) * factor).astype(int), lab.shape[1] - 1)
            keep = lab[np.ix_(rows, cols)] == UNLABELLED
        if keep.any():
            scored.append(UncertainTile(*box, score=float(unsure[keep].mean())))
        yield Progress(i + 1, len(windows), f"scored tile {i + 1} of {len(windows)}")
    scored.sort(key=lambda t: (-t.score, t.y, t.x))
    return scored[:top] if top is not None else scored
