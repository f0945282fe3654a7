"""Survey the labels block by block, check them, and split blocks into train and validation.

Each image is cut into a grid of square blocks. The survey reads the class map
one block at a time (memory stays at one block) and keeps, for blocks that hold
any label, their labelled pixel count per class. Whole blocks then go to the
training or the validation side; training tiles are drawn inside training
blocks and validation tiles inside validation blocks, so no tile crosses the
split and neighbouring pixels never leak from one side to the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from segcore.errors import TrainingError
from segcore.labels.box import Box, windows
from segcore.labels.schema import UNLABELLED, ClassInfo
from segcore.training.data import TrainingData


@dataclass(frozen=True)
class Block:
    """A labelled block of one image; ``counts[c]`` labelled pixels of class c."""

    image: int  # index into TrainingData.images
    box: Box
    counts: np.ndarray  # (256,) int64; counts[255] = 0

    @property
    def labelled(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class Split:
    """Blocks for training and for validation.

    ``held_out`` is False when there were too few labelled blocks to keep some
    apart: validation then runs on the training blocks (and says so).
    """

    train: tuple[Block, ...]
    val: tuple[Block, ...]
    held_out: bool

    def class_counts(self, num_classes: int) -> np.ndarray:
        """Labelled pixels per class over the training blocks."""
        total = np.zeros(256, np.int64)
        for b in self.train:
            total += b.counts
        return total[:num_classes]


def survey(data: TrainingData, *, block: int) -> list[Block]:
    """Read every block's labels and return the blocks that hold any."""
    blocks = []
    for index, item in enumerate(data.images):
        touched = _hinted_blocks(item.labelled_hint(), block) if item.labelled_hint else None
        for box in windows(item.width, item.height, block):
            if touched is not None and (box.x // block, box.y // block) not in touched:
                continue
            labels = item.labels.read("semantic", box.x, box.y, box.w, box.h)
            counts = np.bincount(labels.ravel(), minlength=256).astype(np.int64)
            counts[UNLABELLED] = 0
            if counts.any():
                blocks.append(Block(index, box, counts))
    return blocks


def _hinted_blocks(boxes: Sequence[Box], block: int) -> set[tuple[int, int]]:
    """(column, row) of every block that one of ``boxes`` touches."""
    touched = set()
    for b in boxes:
        if b.is_empty:
            continue
        for row in range(b.y // block, (b.y1 - 1) // block + 1):
            for col in range(b.x // block, (b.x1 - 1) // block + 1):
                touched.add((col, row))
    return touched


def resolve_classes(data: TrainingData, blocks: Sequence[Block]) -> tuple[ClassInfo, ...]:
    """The data's classes, or ``class 0 .. class k`` up to the highest id labelled."""
    from segcore.labels.schema import make_classes

    if data.classes is not None:
        return data.classes
    total = _total(blocks)
    highest = int(np.flatnonzero(total).max()) if total.any() else 0
    return tuple(make_classes([f"class {i}" for i in range(highest + 1)]))


def check_labels(blocks: Sequence[Block], classes: Sequence[ClassInfo], data: TrainingData) -> None:
    """Refuse labels training cannot use: none, a single class, or unknown ids."""
    total = _total(blocks)
    names = ", ".join(item.name for item in data.images) or "no images"
    if not total.any():
        raise TrainingError(
            f"no labelled pixels in {names}; paint some strokes of at least two classes first"
        )
    known = {c.id for c in classes}
    unknown = [int(i) for i in np.flatnonzero(total) if int(i) not in known]
    if unknown:
        where = _first_image_with(blocks, unknown[0], data)
        raise TrainingError(
            f"labels use class id(s) {unknown} (first in {where}) but the classes are "
            f"{sorted(known)}; add the class or fix the labels"
        )
    present = [c.name for c in classes if total[c.id] > 0]
    if len(present) < 2:
        raise TrainingError(
            f"only one class is labelled ({present[0]}); a model needs examples of at least "
            "two classes: label some background or another class too"
        )


def _total(blocks: Sequence[Block]) -> np.ndarray:
    total = np.zeros(256, np.int64)
    for b in blocks:
        total += b.counts
    return total


def _first_image_with(blocks: Sequence[Block], class_id: int, data: TrainingData) -> str:
    for b in blocks:
        if b.counts[class_id]:
            return data.images[b.image].name
    return "?"


def split_blocks(blocks: Sequence[Block], *, val_fraction: float, seed: int) -> Split:
    """Assign whole blocks to validation (about ``val_fraction`` of them) or training.

    Tries 64 seeded shuffles and keeps the one whose training side holds the
    largest share of its worst-kept class (a stratified split by region), so a
    class that clusters in one corner of the image is not left to validation.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise TrainingError(f"validation fraction must be in [0, 1), got {val_fraction}")
    n_val = int(round(val_fraction * len(blocks)))
    if val_fraction > 0 and len(blocks) >= 2:
        n_val = min(max(n_val, 1), len(blocks) - 1)
    if n_val == 0:
        return Split(tuple(blocks), tuple(blocks), held_out=False)
    total = _total(blocks)
    present = total > 0
    counts = np.stack([b.counts for b in blocks])
    rng = np.random.default_rng(seed)
    order, best = np.arange(len(blocks)), -1.0
    for _ in range(64):
        candidate = rng.permutation(len(blocks))
        kept = float((counts[candidate[n_val:]].sum(0)[present] / total[present]).min())
        if kept > best:
            order, best = candidate, kept
    val = sorted(order[:n_val].tolist())
    train_idx = sorted(order[n_val:].tolist())
    return Split(tuple(blocks[i] for i in train_idx), tuple(blocks[i] for i in val), held_out=True)


def image_stats(
    data: TrainingData, blocks: Sequence[Block], *, scale: float, max_blocks: int = 16
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-band mean and std of ``pixel / scale`` over up to ``max_blocks`` labelled blocks."""
    step = max(1, len(blocks) // max_blocks)
    sums: np.ndarray | None = None
    squares: np.ndarray | None = None
    count = 0
    for b in list(blocks)[::step][:max_blocks]:
        pixels = data.images[b.image].image.read_region(0, b.box.x, b.box.y, b.box.w, b.box.h)
        flat = pixels.reshape(-1, pixels.shape[-1]).astype(np.float64) / scale
        sums = flat.sum(0) if sums is None else sums + flat.sum(0)
        sq = (flat**2).sum(0)
        squares = sq if squares is None else squares + sq
        count += flat.shape[0]
    if sums is None or squares is None or count == 0:
        raise TrainingError("no labelled block to measure the image statistics on")
    mean = sums / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std = np.where(std > 1e-6, std, 1.0)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def dtype_scale(dtype: np.dtype[np.generic]) -> float:
    """The ``scale`` of a pixel type: its maximum for integers, 1 for floats."""
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(str(dtype)).max)
    return 1.0
