"""SegNet layers: (conv, BatchNorm, ReLU) stacks and the encoder stage."""

from __future__ import annotations

import torch
from torch import nn


def conv_stack(in_channels: int, out_channels: int, convs: int) -> nn.Sequential:
    """``convs`` times (3x3 conv, BatchNorm, ReLU); the first changes the channel count."""
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


class EncoderStage(nn.Module):
    """Convolutions, then 2x2 max pooling that also returns the argmax indices."""

    def __init__(self, in_channels: int, out_channels: int, convs: int) -> None:
        super().__init__()
        self.convs = conv_stack(in_channels, out_channels, convs)
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled, indices = self.pool(self.convs(x))
        return pooled, indices
