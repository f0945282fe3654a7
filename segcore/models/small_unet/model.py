"""SmallUNet: four levels (16-32-64-128 channels by default), output stride 8.

Sized for interactive inference on a laptop CPU: about 0.5 M parameters and a
receptive field radius near 50 pixels, so overlap tiles need only a small halo.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from segcore.models.layers import check_size
from segcore.models.small_unet import CHANNELS
from segcore.models.small_unet.blocks import DoubleConv, Down, Up


class SmallUNet(nn.Module):
    """A plain U-Net; input H and W must be multiples of ``2 ** (len(channels) - 1)``."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        channels: Sequence[int] = CHANNELS,
    ) -> None:
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"SmallUNet needs at least 2 levels, got channels={channels}")
        self.output_stride = 2 ** (len(channels) - 1)
        self.stem = DoubleConv(in_channels, channels[0])
        self.downs = nn.ModuleList(
            Down(c_in, c_out) for c_in, c_out in zip(channels[:-1], channels[1:], strict=True)
        )
        rev = list(reversed(channels))
        self.ups = nn.ModuleList(
            Up(c_in, c_out, c_out) for c_in, c_out in zip(rev[:-1], rev[1:], strict=True)
        )
        self.head = nn.Conv2d(channels[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_size(x, self.output_stride)
        x = self.stem(x)
        skips = [x]
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)  # type: ignore[no-any-return]
