"""Small models with known metadata for the engine tests.

Receptive fields are the ones ``segcore.models.probe_model`` measures for these
architectures (tolerance 1e-5); they are written here because probing takes
tens of seconds per model, too slow for every test run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from segcore.labels.schema import make_classes
from segcore.models.meta import ModelMeta, Normalization

# arch -> (encoder, config, output stride, receptive field from probe_model)
ARCHS: dict[str, tuple[str | None, dict[str, Any], int, int]] = {
    "small_unet": (None, {}, 8, 23),
    "segnet": (None, {"channels": [8, 16, 32, 64]}, 16, 87),  # light widths, same field
    "unet": ("resnet18", {"encoder_depth": 3, "decoder_channels": [64, 32, 16]}, 8, 65),
}


@dataclass(frozen=True)
class Loaded:
    module: nn.Module
    meta: ModelMeta


def make_meta(
    arch: str, *, classes: int, in_channels: int, stride: int, rf: int | None, tile: int = 512
) -> ModelMeta:
    return ModelMeta(
        arch=arch,
        config={},
        in_channels=in_channels,
        classes=tuple(make_classes([f"c{i}" for i in range(classes)])),
        normalization=Normalization((0.5,) * in_channels, (0.25,) * in_channels, 255.0),
        tile_size=tile,
        output_stride=stride,
        receptive_field=rf,
        exact=rf is not None,
    )


def build(arch: str, *, classes: int = 4, in_channels: int = 3, seed: int = 0) -> Loaded:
    from segcore.models import build_model

    encoder, config, stride, rf = ARCHS[arch]
    torch.manual_seed(seed)
    module = build_model(
        arch, num_classes=classes, in_channels=in_channels, encoder=encoder, config=config
    ).eval()
    return Loaded(
        module, make_meta(arch, classes=classes, in_channels=in_channels, stride=stride, rf=rf)
    )


class TinyNet(nn.Module):
    """Two 3x3 convolutions around a 2x pooling: receptive field radius 4, stride 2."""

    def __init__(self, in_channels: int = 3, classes: int = 3) -> None:
        super().__init__()
        self.a = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.b = nn.Conv2d(8, classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.a(x))
        y = nn.functional.max_pool2d(y, 2)
        y = nn.functional.interpolate(self.b(y), scale_factor=2, mode="nearest")
        return y


def tiny(*, in_channels: int = 3, classes: int = 3, rf: int | None = 6) -> Loaded:
    torch.manual_seed(0)
    meta = make_meta("tiny", classes=classes, in_channels=in_channels, stride=2, rf=rf, tile=32)
    return Loaded(TinyNet(in_channels, classes).eval(), meta)


def whole_image_logits(model: Loaded, image: np.ndarray) -> np.ndarray:
    """The reference: one forward pass over the whole image, mirror-padded up to
    a multiple of the output stride, normalised as the model file says."""
    meta = model.meta
    s = meta.output_stride
    h, w = image.shape[:2]
    ph, pw = -(-h // s) * s - h, -(-w // s) * s - w
    padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect").astype(np.float32)
    norm = meta.normalization
    x = (padded / norm.scale - np.asarray(norm.mean, np.float32)) / np.asarray(norm.std, np.float32)
    with torch.inference_mode():
        out = model.module(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))
    return out[0, :, :h, :w].float().numpy()
