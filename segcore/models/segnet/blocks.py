"""SegNet layers: (conv, BatchNorm, ReLU) stacks and the encoder stage."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


class MaxUnpool(nn.Module):
    """2x2 max-unpooling with given indices: ``nn.MaxUnpool2d(2, stride=2)`` semantics.

    Written as a call of ``F.max_unpool2d`` because torch 2.15 can neither script
    ``nn.MaxUnpool2d`` (an internal assert on its kernel size) nor trace it with
    dynamic shapes; the functional form scripts fine, so SegNet exports to TorchScript.
    """

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return F.max_unpool2d(x, indices, kernel_size=[2, 2], stride=[2, 2])
