"""SegNet wiring: encoder stages record pooling indices, decoder stages reuse them.

The default is a light four-level variant (32-64-128-256, output stride 16);
``channels=(64, 128, 256, 512, 512), convs=(2, 2, 3, 3, 3)`` gives the original
VGG-16-sized network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from segcore.models.layers import check_size
from segcore.models.segnet import CHANNELS, CONVS
from segcore.models.segnet.blocks import EncoderStage
from segcore.models.segnet.decoder import DecoderStage


class SegNet(nn.Module):
    """Encoder-decoder with index unpooling; H and W must be multiples of ``2 ** levels``."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        channels: Sequence[int] = CHANNELS,
        convs: Sequence[int] = CONVS,
    ) -> None:
        super().__init__()
        if len(channels) != len(convs) or not channels:
            raise ValueError(f"channels {channels} and convs {convs} need the same length")
        self.output_stride = 2 ** len(channels)
        ins = [in_channels, *channels[:-1]]
        self.encoder = nn.ModuleList(
            EncoderStage(c_in, c_out, n)
            for c_in, c_out, n in zip(ins, channels, convs, strict=True)
        )
        # decoder mirrors the encoder; the last stage ends at channels[0]
        outs = [channels[0], *channels[:-1]]
        self.decoder = nn.ModuleList(
            DecoderStage(c_in, c_out, n)
            for c_in, c_out, n in reversed(list(zip(channels, outs, convs, strict=True)))
        )
        self.head = nn.Conv2d(channels[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_size(x, self.output_stride)
        indices: list[torch.Tensor] = []
        for stage in self.encoder:
            x, idx = stage(x)
            indices.append(idx)
        for stage in self.decoder:
            x = stage(x, indices.pop())
        return self.head(x)  # type: ignore[no-any-return]
