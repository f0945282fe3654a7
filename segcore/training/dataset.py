"""Torch datasets of tiles: random training tiles and fixed validation tiles.

A training tile is a pure function of ``(seed, epoch, index)``: its block, its
position inside the block and its augmentation all come from a generator
seeded with those three numbers. Any sampler (plain shuffling or
``DistributedSampler`` across processes) therefore sees the same tiles in every
run with the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from segcore.io.validity import fill_invalid, read_invalid
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED
from segcore.models.meta import Normalization
from segcore.training.augment import apply
from segcore.training.data import TrainingData
from segcore.training.survey import Block

Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # image, labels, weight


def read_tile(
    data: TrainingData,
    image: int,
    window: Box,
    *,
    corrected_weight: float,
    masked: Sequence[tuple[int, Box]] = (),
    fill: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Pixels (h, w, bands), labels (h, w) uint8, weights (h, w) float32, invalid pixels.

    Labels are UNLABELLED on pixels holding no data (:mod:`segcore.io.validity`)
    and inside ``masked`` regions of this image (validation cells). With
    ``fill`` (per-band values in pixel units) invalid pixels are replaced by it,
    so nothing non-finite reaches the augmentation or the network.
    """
    item = data.images[image]
    pixels = item.image.read_region(0, window.x, window.y, window.w, window.h)
    labels = item.labels.read("semantic", window.x, window.y, window.w, window.h)
    invalid = read_invalid(item.image, pixels, 0, window.x, window.y)
    if invalid is not None:
        labels = np.where(invalid, np.uint8(UNLABELLED), labels)
        if fill is not None:
            pixels = fill_invalid(pixels, invalid, np.asarray(fill, np.float32))
    hits = [box.intersect(window) for index, box in masked if index == image]
    hits = [hit for hit in hits if not hit.is_empty]
    if hits:
        labels = labels.copy()
        for hit in hits:
            labels[hit.slices(window)] = UNLABELLED
    weight = np.ones((window.h, window.w), np.float32)
    for box in item.corrected:
        hit = box.intersect(window)
        if not hit.is_empty:
            weight[hit.slices(window)] = corrected_weight
    return pixels, labels, weight, invalid


def fill_values(norm: Normalization) -> tuple[float, ...]:
    """The per-band value (pixel units) that normalises to 0: what invalid pixels become."""
    return tuple(float(m) * norm.scale for m in norm.mean)


def to_tensor(pixels: np.ndarray, scale: float) -> torch.Tensor:
    """(h, w, bands) pixels -> float32 (bands, h, w) divided by ``scale``."""
    chw = np.ascontiguousarray(np.moveaxis(pixels, -1, 0), dtype=np.float32)
    return torch.from_numpy(chw) / scale


def normalise(image: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """Apply ``(x - mean) / std`` per band to an image already divided by the scale."""
    mean = torch.tensor(norm.mean, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float32).view(-1, 1, 1)
    return (image - mean) / std


@dataclass(frozen=True)
class TileOptions:
    """How tiles are cut and prepared."""

    tile: int
    normalization: Normalization
    corrected_weight: float = 3.0
    masked: tuple[tuple[int, Box], ...] = ()  # (image, box) whose labels training ignores


MOSTLY_NODATA = 0.5
"""A training tile with more than this share of nodata pixels is drawn again."""


class TrainTiles(Dataset[Sample]):
    """``length`` random tiles per epoch around labelled pixels, class-balanced, augmented.

    Each tile first draws a class uniformly among the labelled ones (a rare
    class is seen as often as a common one), then a block with probability
    proportional to that class's pixels in it (times ``corrected_weight`` for
    blocks holding a recent correction), then one labelled pixel of that class
    in the block; the tile lies inside the block around that pixel. Tiles that
    are mostly nodata are drawn again (a few times).
    """

    def __init__(
        self,
        data: TrainingData,
        blocks: Sequence[Block],
        *,
        options: TileOptions,
        length: int,
        augment: v2.Transform | None,
        seed: int,
    ) -> None:
        self.data = data
        self.blocks = tuple(blocks)
        self.options = options
        self.length = length
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        boost = np.ones(len(self.blocks), np.float64)
        for i, b in enumerate(self.blocks):
            if any(not c.intersect(b.box).is_empty for c in data.images[b.image].corrected):
                boost[i] = options.corrected_weight
        counts = np.stack([b.counts for b in self.blocks]).astype(np.float64)
        self.classes = np.flatnonzero(counts.sum(0) > 0)
        weights = counts[:, self.classes] * boost[:, None]
        # p[k]: block probabilities for the k-th labelled class
        self.p = (weights / weights.sum(0)).T
        self.fill = fill_values(options.normalization)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def window(self, rng: np.random.Generator) -> tuple[int, Box]:
        """Pick a class, a block holding it and a tile inside the block around one of its pixels."""
        k = int(rng.integers(len(self.classes)))
        block = self.blocks[int(rng.choice(len(self.blocks), p=self.p[k]))]
        t, box = self.options.tile, block.box
        labels = self._labels(block)
        ys, xs = np.nonzero(labels == self.classes[k])
        if len(ys):
            i = int(rng.integers(len(ys)))
            # the pixel lands anywhere in the tile's middle half, so it is not always central
            cx = box.x + int(xs[i]) - t // 2 + int(rng.integers(-(t // 4), t // 4 + 1))
            cy = box.y + int(ys[i]) - t // 2 + int(rng.integers(-(t // 4), t // 4 + 1))
        else:
            cx = box.x + int(rng.integers(0, max(box.w - t, 0) + 1))
            cy = box.y + int(rng.integers(0, max(box.h - t, 0) + 1))
        x = min(max(cx, box.x), max(box.x1 - t, box.x))
        y = min(max(cy, box.y), max(box.y1 - t, box.y))
        return block.image, Box(x, y, t, t)

    def _labels(self, block: Block) -> np.ndarray:
        """The block's labels as training sees them (validation cells masked)."""
        labels = self.data.images[block.image].labels.read(
            "semantic", block.box.x, block.box.y, block.box.w, block.box.h
        )
        hits = [box.intersect(block.box) for i, box in self.options.masked if i == block.image]
        hits = [h for h in hits if not h.is_empty]
        if hits:
            labels = labels.copy()
            for hit in hits:
                labels[hit.slices(block.box)] = UNLABELLED
        return labels

    def __getitem__(self, index: int) -> Sample:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        for _ in range(4):
            image_index, window = self.window(rng)
            pixels, labels, weight, invalid = read_tile(
                self.data,
                image_index,
                window,
                corrected_weight=self.options.corrected_weight,
                masked=self.options.masked,
                fill=self.fill,
            )
            if invalid is None or invalid.mean() <= MOSTLY_NODATA:
                break
        scale = self.options.normalization.scale
        image = to_tensor(pixels, scale)
        target = torch.from_numpy(labels.astype(np.int64))
        w = torch.from_numpy(weight)
        if self.augment is not None:
            # torchvision draws from torch's global generator; fork it so the tile
            # depends on (seed, epoch, index) only, whatever ran before
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.integers(0, 2**62)))
                image, target, w = apply(self.augment, image, target, w)
        return normalise(image, self.options.normalization), target, w


class ValTiles(Dataset[Sample]):
    """Tiles covering the validation blocks (edges padded, unlabelled).

    A block larger than a tile is covered by non-overlapping tiles; a smaller
    one (a validation cell) gets one tile centred on it, for context. Only the
    block's own pixels are scored: labels elsewhere are UNLABELLED, and the
    third item (the weight) is 1 on the block's valid pixels and 0 elsewhere,
    so the loop can count what the model predicts there.
    """

    def __init__(self, data: TrainingData, blocks: Sequence[Block], *, options: TileOptions):
        self.data = data
        self.options = options
        t = options.tile
        self.windows: list[tuple[int, Box, Box]] = []
        for b in blocks:
            if b.box.w < t and b.box.h < t:
                x, y = b.box.x - (t - b.box.w) // 2, b.box.y - (t - b.box.h) // 2
                self.windows.append((b.image, Box(x, y, t, t), b.box))
                continue
            for y in range(b.box.y, b.box.y1, t):
                for x in range(b.box.x, b.box.x1, t):
                    self.windows.append((b.image, Box(x, y, t, t), b.box))
        self.blocks = tuple(blocks)
        self.fill = fill_values(options.normalization)

    def labelled_counts(self, num_classes: int) -> tuple[int, ...]:
        """Labelled (valid) pixels per class id in the validation blocks."""
        total = sum((b.counts for b in self.blocks), np.zeros(256, np.int64))
        return tuple(int(v) for v in total[:num_classes])

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> Sample:
        image_index, window, block = self.windows[index]
        pixels, labels, _, invalid = read_tile(
            self.data, image_index, window, corrected_weight=1.0, fill=self.fill
        )
        # a tile near the block edge reaches into the next block: score only its own pixels
        keep = np.zeros(labels.shape, bool)
        keep[block.intersect(window).slices(window)] = True
        if invalid is not None:
            keep &= ~invalid
        labels = np.where(keep, labels, np.uint8(UNLABELLED))
        image = normalise(
            to_tensor(pixels, self.options.normalization.scale), self.options.normalization
        )
        scored = torch.from_numpy(keep.astype(np.float32))
        return image, torch.from_numpy(labels.astype(np.int64)), scored
