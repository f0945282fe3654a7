"""A synthetic scene of touching discs and a model that passes its dense maps through.

The scene's three bands *are* the dense maps (foreground, boundary, normalised
distance, x 255), and the model is a 1 x 1 convolution turning them into logits
(receptive field 0, stride 1): tiling tests then check grouping and stitching
alone, with an answer known from the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from segcore.labels.schema import ClassInfo
from segcore.models.meta import ModelMeta, Normalization


@dataclass(frozen=True)
class Loaded:
    module: nn.Module
    meta: ModelMeta


def pass_through(*, max_object: int = 24) -> Loaded:
    conv = nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        conv.weight.zero_()
        for c in range(3):
            conv.weight[c, c] = 20.0
        conv.bias.fill_(-10.0)  # logit = 20 (x - 0.5): x = 1 -> +10, x = 0 -> -10
    meta = ModelMeta(
        arch="instance_unet",
        config={},
        in_channels=3,
        classes=(
            ClassInfo(0, "background", (0, 0, 0), False),
            ClassInfo(1, "disc", (255, 0, 0), True),
        ),
        normalization=Normalization((0.0,) * 3, (1.0,) * 3, 255.0),
        tile_size=64,
        output_stride=1,
        receptive_field=0,
        exact=True,
        extra={"instance": {"max_object": max_object}},
        task="instance",
    )
    return Loaded(conv.eval(), meta)


def disc_scene(
    width: int, height: int, centres: list[tuple[int, int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """(image (h, w, 3) uint8, instance map (h, w) int32) of discs (x, y, radius).

    A later disc overlapping an earlier one takes the shared pixels, so discs touch."""
    yy, xx = np.mgrid[:height, :width]
    inst = np.zeros((height, width), np.int32)
    for k, (x, y, r) in enumerate(centres, start=1):
        inst[(xx - x) ** 2 + (yy - y) ** 2 <= r * r] = k
    fg = inst > 0
    dist = np.zeros((height, width), np.float64)
    for k, box in enumerate(ndimage.find_objects(inst), start=1):
        if box is None:
            continue
        mask = np.pad(inst[box] == k, 1)
        d = ndimage.distance_transform_edt(mask)[1:-1, 1:-1]
        dist[box] = np.where(inst[box] == k, d / max(d.max(), 1.0), dist[box])
    image = np.stack([fg * 255, np.zeros_like(fg), np.round(dist * 255)], axis=-1)
    return image.astype(np.uint8), inst


def match(a: np.ndarray, b: np.ndarray) -> dict[int, tuple[int, float]]:
    """For each object of ``a``, its best object of ``b`` and their IoU."""
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    pairs = np.bincount(a.ravel().astype(np.int64) * nb + b.ravel(), minlength=na * nb)
    inter = pairs.reshape(na, nb)
    area_a, area_b = inter.sum(1), inter.sum(0)
    best = {}
    for i in range(1, na):
        j = int(np.argmax(inter[i, 1:])) + 1 if nb > 1 else 0
        union = area_a[i] + area_b[j] - inter[i, j]
        best[i] = (j, float(inter[i, j] / union) if union else 0.0)
    return best
