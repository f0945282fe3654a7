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

from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED
from segcore.models.meta import Normalization
from segcore.training.augment import apply
from segcore.training.data import TrainingData
from segcore.training.split import Block

Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # image, labels, weight


def read_tile(
    data: TrainingData, image: int, window: Box, *, corrected_weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels (h, w, bands), labels (h, w) uint8 and weights (h, w) float32 of a window."""
    item = data.images[image]
    pixels = item.image.read_region(0, window.x, window.y, window.w, window.h)
    labels = item.labels.read("semantic", window.x, window.y, window.w, window.h)
    weight = np.ones((window.h, window.w), np.float32)
    for box in item.corrected:
        hit = box.intersect(window)
        if not hit.is_empty:
            weight[hit.y - window.y : hit.y1 - window.y, hit.x - window.x : hit.x1 - window.x] = (
                corrected_weight
            )
    return pixels, labels, weight


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


class TrainTiles(Dataset[Sample]):
    """``length`` random tiles per epoch from the training blocks, augmented.

    Blocks are drawn with probability proportional to the square root of their
    labelled pixel count (dense blocks are favoured, sparse ones not starved),
    times ``corrected_weight`` for blocks that hold a recent correction.
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
        weights = np.array([np.sqrt(b.labelled) for b in self.blocks], np.float64)
        for i, b in enumerate(self.blocks):
            if any(not c.intersect(b.box).is_empty for c in data.images[b.image].corrected):
                weights[i] *= options.corrected_weight
        self.p = weights / weights.sum()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def window(self, rng: np.random.Generator) -> tuple[int, Box]:
        """Pick a block and a tile-sized window inside it (past the image edge when clipped)."""
        block = self.blocks[int(rng.choice(len(self.blocks), p=self.p))]
        t, box = self.options.tile, block.box
        x = box.x + int(rng.integers(0, max(box.w - t, 0) + 1))
        y = box.y + int(rng.integers(0, max(box.h - t, 0) + 1))
        return block.image, Box(x, y, t, t)

    def __getitem__(self, index: int) -> Sample:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image_index, window = self.window(rng)
        pixels, labels, weight = read_tile(
            self.data, image_index, window, corrected_weight=self.options.corrected_weight
        )
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
    """Non-overlapping tiles covering the validation blocks (edges padded, unlabelled)."""

    def __init__(self, data: TrainingData, blocks: Sequence[Block], *, options: TileOptions):
        self.data = data
        self.options = options
        t = options.tile
        self.windows: list[tuple[int, Box]] = []
        for b in blocks:
            for y in range(b.box.y, b.box.y1, t):
                for x in range(b.box.x, b.box.x1, t):
                    self.windows.append((b.image, Box(x, y, t, t)))
        self.blocks = tuple(blocks)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> Sample:
        image_index, window = self.windows[index]
        pixels, labels, weight = read_tile(self.data, image_index, window, corrected_weight=1.0)
        # a tile near the block edge reaches into the next block: score only its own pixels
        block = next(
            b.box
            for b in self.blocks
            if b.image == image_index and b.box.contains(window.x, window.y)
        )
        inside = block.intersect(window)
        keep = np.zeros(labels.shape, bool)
        keep[
            inside.y - window.y : inside.y1 - window.y, inside.x - window.x : inside.x1 - window.x
        ] = True
        labels = np.where(keep, labels, np.uint8(UNLABELLED))
        image = normalise(
            to_tensor(pixels, self.options.normalization.scale), self.options.normalization
        )
        return image, torch.from_numpy(labels.astype(np.int64)), torch.from_numpy(weight)
