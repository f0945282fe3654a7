"""Class-balanced samples of labelled pixels and their features.

Labels are read block by block (the training survey, :func:`segcore.training.survey.survey`).
Every class keeps a uniform random sample of at most ``per_class`` of its
labelled, valid pixels (bottom-k of random keys, so the sample does not depend
on the order blocks are read in). A rare class therefore keeps all its
pixels and a common one is thinned, and memory stays at ``classes x
per_class`` rows. With dense masks, blocks are read in a seeded random order
and reading stops once every class has four times its quota to draw from, so a
big labelled image costs a few blocks of features, not all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from segcore.jobs import Job, Progress
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED
from segcore.models.meta import Normalization
from segcore.pixelclass.classifier import FeatureExtractor
from segcore.training.data import TrainingData
from segcore.training.survey import Block

OVERSAMPLE = 4  # read blocks until each class has this many times its quota


@dataclass(frozen=True)
class Samples:
    """Features (n, F) float32 and class ids (n,) of the sampled pixels.

    ``labelled[c]`` counts the valid labelled pixels of class c in the blocks
    read; ``nodata[c]`` those left out because they are nodata.
    """

    features: np.ndarray
    labels: np.ndarray
    labelled: np.ndarray
    nodata: np.ndarray
    blocks_read: int


class Reservoir:
    """A uniform sample of at most ``cap`` rows per class (bottom-k random keys)."""

    def __init__(self, cap: int, rng: np.random.Generator) -> None:
        self.cap, self.rng = cap, rng
        self._keys: dict[int, np.ndarray] = {}
        self._rows: dict[int, np.ndarray] = {}

    def add(self, class_id: int, rows: np.ndarray) -> None:
        keys = self.rng.random(len(rows))
        if class_id in self._keys:
            keys = np.concatenate([self._keys[class_id], keys])
            rows = np.concatenate([self._rows[class_id], rows])
        if len(keys) > self.cap:
            keep = np.argpartition(keys, self.cap - 1)[: self.cap]
            keys, rows = keys[keep], rows[keep]
        self._keys[class_id], self._rows[class_id] = keys, rows

    def count(self, class_id: int) -> int:
        return len(self._keys.get(class_id, ()))

    def arrays(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        ids = sorted(self._rows)
        if not ids:
            return np.zeros((0, width), np.float32), np.zeros(0, np.uint8)
        features = np.concatenate([self._rows[c] for c in ids]).astype(np.float32)
        labels = np.concatenate([np.full(len(self._rows[c]), c, np.uint8) for c in ids])
        return features, labels


def block_order(blocks: Sequence[Block], per_class: int, seed: int) -> list[Block]:
    """The blocks worth reading, in a seeded random order (see the module docstring)."""
    rng = np.random.default_rng(seed)
    order = [blocks[i] for i in rng.permutation(len(blocks))]
    wanted = OVERSAMPLE * per_class
    have = np.zeros(256, np.int64)
    chosen = []
    for block in order:
        present = block.counts > 0
        if (have[present] < wanted).any():
            chosen.append(block)
            have += block.counts
    return chosen


def _labelled_part(box: Box, labels: np.ndarray) -> tuple[Box, np.ndarray]:
    """The smallest box inside ``box`` holding every label: strokes cost their own area."""
    rows = np.flatnonzero((labels != UNLABELLED).any(axis=1))
    cols = np.flatnonzero((labels != UNLABELLED).any(axis=0))
    if len(rows) == 0:
        return box, labels
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    inner = Box(box.x + int(x0), box.y + int(y0), int(x1 - x0), int(y1 - y0))
    return inner, labels[y0:y1, x0:x1]


def collect(
    data: TrainingData,
    blocks: Sequence[Block],
    extractor: FeatureExtractor,
    norm: Normalization,
    *,
    per_class: int,
    seed: int,
) -> Job[Samples]:
    """Sample labelled pixels of ``blocks`` (see the module docstring); yields per block."""
    chosen = block_order(blocks, per_class, seed)
    reservoir = Reservoir(per_class, np.random.default_rng(seed + 1))
    labelled = np.zeros(256, np.int64)
    nodata = np.zeros(256, np.int64)
    for done, block in enumerate(chosen, 1):
        item = data.images[block.image]
        box = block.box
        labels = item.labels.read("semantic", box.x, box.y, box.w, box.h)
        box, labels = _labelled_part(box, labels)
        features, invalid = extractor.window(item.image, norm, box)
        marked = labels != UNLABELLED
        nodata += np.bincount(labels[marked & invalid], minlength=256)
        usable = marked & ~invalid
        ids = labels[usable]
        labelled += np.bincount(ids, minlength=256)
        rows = features[:, usable].T  # (pixels, F)
        for class_id in np.unique(ids):
            reservoir.add(int(class_id), rows[ids == class_id])
        yield Progress(done, len(chosen), f"features of block {done}/{len(chosen)}")
    feats, ids = reservoir.arrays(extractor.count)
    return Samples(feats, ids, labelled, nodata, len(chosen))
