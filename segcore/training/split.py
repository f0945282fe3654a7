"""Split the labels into training and validation so that every class is on both sides.

Two levels, tried in order:

1. **Whole blocks** (blocks = 2 x tile). Among many seeded draws, the split kept
   is the one that best meets a per-class quota: each class should have about
   ``val_fraction`` of its labelled pixels in validation and the rest in
   training. Training tiles stay inside training blocks.
2. **Cells with a gap**, when the blocks are too few or a class lives in too few
   of them to be on both sides (a rare class labelled in one corner, labels on
   one small image). Labelled blocks are cut into cells of half a tile; cells are
   chosen for validation with the same quotas. Training ignores the labels of a
   validation cell and of a margin of ``gap / 2`` around it; validation scores the
   cell shrunk by ``gap / 2``; so no scored pixel has a training label closer than
   ``gap`` pixels (neighbouring pixels are nearly the same, and would leak).

When even cells cannot hold anything out (one labelled cell, ``val_fraction`` 0)
validation runs on the training labels and the split says so (``held_out``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from segcore.errors import TrainingError
from segcore.labels.box import Box, windows
from segcore.training.data import TrainingData
from segcore.training.survey import Block, total_counts, valid_labels

Level = Literal["blocks", "cells", "none"]
ENOUGH = 0.5
"""A block split is kept when every class gets at least this share of its quota on each side."""


@dataclass(frozen=True)
class Split:
    """Blocks for training and for validation.

    ``held_out`` is False when nothing could be kept apart: validation then runs
    on the training blocks (and says so). ``masked`` lists (image, box) regions
    whose labels training must ignore (validation cells and their gap).
    """

    train: tuple[Block, ...]
    val: tuple[Block, ...]
    held_out: bool
    level: Level = "blocks"
    masked: tuple[tuple[int, Box], ...] = ()

    def class_counts(self, num_classes: int) -> np.ndarray:
        """Labelled pixels per class over the training blocks."""
        return total_counts(self.train)[:num_classes]


def split_blocks(
    blocks: Sequence[Block],
    *,
    val_fraction: float,
    seed: int,
    data: TrainingData | None = None,
    tile: int = 256,
) -> Split:
    """Assign blocks (or, when they are too few, cells inside them) to the two sides.

    ``data`` is needed for the cell level (the labels are read again, cell by
    cell); without it only whole blocks are split.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise TrainingError(f"validation fraction must be in [0, 1), got {val_fraction}")
    blocks = list(blocks)
    if val_fraction == 0 or not blocks:
        return Split(tuple(blocks), tuple(blocks), held_out=False, level="none")
    counts = np.stack([b.counts for b in blocks])
    chosen, score = choose(counts, val_fraction=val_fraction, seed=seed)
    if score >= ENOUGH or data is None:
        if chosen is None:
            return Split(tuple(blocks), tuple(blocks), held_out=False, level="none")
        val = tuple(b for b, v in zip(blocks, chosen, strict=True) if v)
        train = tuple(b for b, v in zip(blocks, chosen, strict=True) if not v)
        return Split(train, val, held_out=True, level="blocks")
    return _split_cells(blocks, data, val_fraction=val_fraction, seed=seed, tile=tile)


def choose(
    counts: np.ndarray, *, val_fraction: float, seed: int, draws: int = 256
) -> tuple[np.ndarray | None, float]:
    """Pick units (rows of ``counts``, per-class pixels) for validation by per-class quotas.

    Each draw shuffles the units and takes them until ``val_fraction`` of the
    labelled pixels is reached; the draw kept maximises the worst class's
    quota score ``min(val share / f, train share / (1 - f), 1)``, then the mean
    score. Returns the boolean choice (None when fewer than two units) and its score.
    """
    n = counts.shape[0]
    if n < 2:
        return None, 0.0
    total = counts.sum(0)
    present = total > 0
    per_class = counts[:, present].astype(np.float64) / total[present]
    pixels = counts.sum(1).astype(np.float64)
    target = val_fraction * pixels.sum()
    rng = np.random.default_rng(seed)
    best: np.ndarray | None = None
    best_key = (-1.0, -1.0)
    for _ in range(draws):
        order = rng.permutation(n)
        taken = int(np.searchsorted(np.cumsum(pixels[order]), target)) + 1
        taken = min(max(taken, 1), n - 1)
        pick = np.zeros(n, bool)
        pick[order[:taken]] = True
        val_share = per_class[pick].sum(0)
        score = np.minimum(
            np.minimum(val_share / val_fraction, (1.0 - val_share) / (1.0 - val_fraction)), 1.0
        )
        key = (float(score.min()), float(score.mean()))
        if key > best_key:
            best, best_key = pick, key
    return best, best_key[0]


def _split_cells(
    blocks: list[Block], data: TrainingData, *, val_fraction: float, seed: int, tile: int
) -> Split:
    """Hold out cells of half a tile inside the blocks, with a gap around each."""
    size = max(16, tile // 2)
    gap = max(4, tile // 16)
    cells: list[Block] = []
    for b in blocks:
        labels, _ = valid_labels(data.images[b.image], b.box)
        for part in windows(b.box.w, b.box.h, size):
            window = labels[part.slices()]
            counts = np.bincount(window.ravel(), minlength=256).astype(np.int64)
            counts[255] = 0
            if counts.any():
                box = Box(b.box.x + part.x, b.box.y + part.y, part.w, part.h)
                cells.append(Block(b.image, box, counts))
    chosen, _ = (
        choose(np.stack([c.counts for c in cells]), val_fraction=val_fraction, seed=seed)
        if len(cells) >= 2
        else (None, 0.0)
    )
    if chosen is None:
        return Split(tuple(blocks), tuple(blocks), held_out=False, level="none")
    half = gap // 2
    val_cells = [c for c, v in zip(cells, chosen, strict=True) if v]
    masked = tuple((c.image, c.box.pad(half)) for c in val_cells)
    val = []
    for c in val_cells:
        inner = c.box.pad(-half)
        if inner.is_empty:
            continue
        labels, _ = valid_labels(data.images[c.image], inner)
        counts = np.bincount(labels.ravel(), minlength=256).astype(np.int64)
        counts[255] = 0
        if counts.any():
            val.append(Block(c.image, inner, counts))
    train = []
    for b in blocks:
        held = [c for c in val_cells if c.image == b.image and b.box.contains(c.box.x, c.box.y)]
        left = b.counts - sum((c.counts for c in held), np.zeros(256, np.int64))
        if left.any():
            train.append(Block(b.image, b.box, left))
    if not val or not train:
        return Split(tuple(blocks), tuple(blocks), held_out=False, level="none")
    return Split(tuple(train), tuple(val), held_out=True, level="cells", masked=masked)
