"""ResUNet wiring: residual encoder (strided), bridge, residual decoder with skips.

Default channels (32, 64, 128, 256): three encoder levels and a bridge, output
stride 8. The paper's network is ``channels=(64, 128, 256, 512)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from segcore.models.layers import check_size
from segcore.models.resunet import CHANNELS
from segcore.models.resunet.blocks import ResidualUnit, UpStep


class ResUNet(nn.Module):
    """U-Net of residual units; H and W must be multiples of ``2 ** (len(channels) - 1)``."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        channels: Sequence[int] = CHANNELS,
    ) -> None:
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"ResUNet needs at least 2 levels, got channels={channels}")
        self.output_stride = 2 ** (len(channels) - 1)
        self.stem = ResidualUnit(in_channels, channels[0], first=True)
        # the last of these is the bridge
        self.downs = nn.ModuleList(
            ResidualUnit(c_in, c_out, stride=2)
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=True)
        )
        rev = list(reversed(channels))
        self.ups = nn.ModuleList(
            UpStep(c_in, c_out, c_out) for c_in, c_out in zip(rev[:-1], rev[1:], strict=True)
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
