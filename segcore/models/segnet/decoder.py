"""SegNet decoder: max-unpooling with the encoder's indices, then convolutions.

Unpooling puts each value back where the encoder's max came from and leaves the
other three positions of the 2x2 window zero; the convolutions that follow
densify the sparse map. No learned upsampling, no skip features are stored,
only the indices.
"""

from __future__ import annotations

import torch
from torch import nn

from segcore.models.segnet.blocks import MaxUnpool, conv_stack


class DecoderStage(nn.Module):
    """Unpool 2x with given indices, then ``convs`` convolutions to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int, convs: int) -> None:
        super().__init__()
        self.unpool = MaxUnpool()
        self.convs = nn.Sequential(
            conv_stack(in_channels, in_channels, convs - 1) if convs > 1 else nn.Identity(),
            conv_stack(in_channels, out_channels, 1),
        )

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return self.convs(self.unpool(x, indices))  # type: ignore[no-any-return]
