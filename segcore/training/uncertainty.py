"""Where to correct next: tiles of an image ranked by the model's uncertainty.

The model runs through the inference engine (:func:`segcore.engine.infer`) on
one pyramid level of the image, asking for its per-pixel ``entropy`` or
``margin`` score, so ranking gets whatever the engine does: exact halos, nodata
left out, ONNX where it pays, a GPU where there is one. The score is uint8
(255 x a value in [0, 1], :func:`segcore.engine.runners.score_map`):

* ``entropy``: ``-sum p log p / log C`` (1 when every class is equally likely);
* ``margin``: ``1 - (p_top1 - p_top2)`` (1 when the two best classes tie).

A tile's score is the mean over its pixels (over its still unlabelled pixels
when a label reader is given, so places the user already labelled do not come
back), aggregated as the engine's tiles stream in: memory holds one number
pair per ranked tile, not the image. The GUI steps through the ranked list.

>>> job = rank_uncertain_tiles(loaded, source, tile=256)  # doctest: +SKIP
>>> ranked = run_to_end(job)  # doctest: +SKIP
>>> ranked[0]  # doctest: +SKIP
UncertainTile(x=512, y=256, w=256, h=256, score=0.61)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from segcore.errors import TrainingError
from segcore.io.array import ArraySource
from segcore.io.level import LevelView
from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress, relay
from segcore.labels.box import Box, windows
from segcore.labels.reader import LabelReader
from segcore.labels.schema import UNLABELLED

Measure = Literal["entropy", "margin"]
MEASURES = ("entropy", "margin")


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
    from segcore.engine.runners import score_map

    _check(measure)
    return score_map(probs.clamp_min(1e-12).log(), measure, dim=0)


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
        A loaded model (``module`` and ``meta``) or a model file.
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
        One per engine tile.

    Returns
    -------
    list[UncertainTile]
        Sorted by score, highest first.
    """
    from segcore.engine import InferOptions, infer

    _check(measure)
    if not isinstance(model, str | Path) and (
        getattr(model, "module", None) is None or getattr(model, "meta", None) is None
    ):
        raise TrainingError("rank_uncertain_tiles needs a model (module and meta) or a model file")
    source = ArraySource(image) if isinstance(image, np.ndarray) else image
    if not isinstance(model, str | Path) and source.band_count != model.meta.in_channels:
        raise TrainingError(
            f"{source.path}: image has {source.band_count} band(s) but the model takes "
            f"{model.meta.in_channels}"
        )
    view = LevelView(source, level)
    ranked = _Ranking(view, tile, labels)
    options = InferOptions(device=device, score=measure, keep=False)

    def take(step: Progress) -> Progress:
        for patch in step.payload or ():
            ranked.add(patch.x, patch.y, patch.labels, patch.score)
        return Progress(step.done, step.total, f"scored tile {step.done} of {step.total}")

    yield from relay(infer(view, model, None, options=options), take)
    scored = ranked.tiles()
    scored.sort(key=lambda t: (-t.score, t.y, t.x))
    return scored[:top] if top is not None else scored


def _check(measure: str) -> None:
    if measure not in MEASURES:
        raise TrainingError(f"unknown uncertainty measure {measure!r}; use 'entropy' or 'margin'")


class _Ranking:
    """Per ranked tile: the sum of scores and the count of pixels that count."""

    def __init__(self, view: LevelView, tile: int, labels: LabelReader | None) -> None:
        self.view, self.labels, self.factor = view, labels, view.factor
        self.grid = list(windows(view.width, view.height, tile))
        self.tile, self.columns = tile, -(-view.width // tile)
        self.sums = np.zeros(len(self.grid), np.float64)
        self.counts = np.zeros(len(self.grid), np.int64)

    def add(self, x: int, y: int, predicted: np.ndarray, score: np.ndarray | None) -> None:
        """A finished patch at pixel (x, y) of the level: class ids and score map.

        Pixels the engine did not predict (nodata, invalid input) do not count.
        """
        if score is None:
            return
        h, w = score.shape
        patch = Box(x, y, w, h)
        t = self.tile
        for row in range(y // t, (y + h - 1) // t + 1):
            for col in range(x // t, (x + w - 1) // t + 1):
                k = row * self.columns + col
                part = self.grid[k].intersect(patch)
                if part.is_empty:
                    continue
                inside = part.slices(patch)
                values = score[inside]
                keep = self._unlabelled(self.grid[k], part) & (predicted[inside] != UNLABELLED)
                self.sums[k] += float(values[keep].sum(dtype=np.float64))
                self.counts[k] += int(keep.sum())

    def _unlabelled(self, tile: Box, part: Box) -> np.ndarray:
        """Which pixels of ``part`` (inside ``tile``) have no label at level 0 (nearest)."""
        if self.labels is None:
            return np.ones((part.h, part.w), bool)
        f = self.factor
        box = self._level0(tile)
        rows = np.minimum(((np.arange(part.y, part.y1) - tile.y) * f).astype(int), box.h - 1)
        cols = np.minimum(((np.arange(part.x, part.x1) - tile.x) * f).astype(int), box.w - 1)
        y0, x0 = box.y + int(rows[0]), box.x + int(cols[0])
        window = self.labels.read(
            "semantic", x0, y0, box.x + int(cols[-1]) + 1 - x0, box.y + int(rows[-1]) + 1 - y0
        )
        return np.asarray(window[np.ix_(rows - rows[0], cols - cols[0])] == UNLABELLED)

    def _level0(self, tile: Box) -> Box:
        f = self.factor
        return Box(round(tile.x * f), round(tile.y * f), round(tile.w * f), round(tile.h * f))

    def tiles(self) -> list[UncertainTile]:
        out = []
        for k, tile in enumerate(self.grid):
            if self.counts[k] > 0:
                x, y, w, h = self._level0(tile)
                out.append(UncertainTile(x, y, w, h, self.sums[k] / self.counts[k] / 255.0))
        return out
