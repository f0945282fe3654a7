"""ResUNet layers: the pre-activation residual unit and the decoder step."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualUnit(nn.Module):
    """(BN, ReLU, 3x3 conv) twice, plus a 1x1 projection shortcut.

    ``stride=2`` halves H and W (in the first conv and the shortcut), which is how
    ResUNet downsamples instead of pooling. ``first`` skips the leading BN-ReLU,
    as the unit that sees the raw input does in the paper.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, stride: int = 1, first: bool = False
    ) -> None:
        super().__init__()
        pre: list[nn.Module] = [] if first else [nn.BatchNorm2d(in_channels), nn.ReLU()]
        self.body = nn.Sequential(
            *pre,
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)  # type: ignore[no-any-return]


class UpStep(nn.Module):
    """Nearest 2x upsampling, concatenate the skip, one residual unit."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.unit = ResidualUnit(in_channels + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.unit(torch.cat([x, skip], dim=1))  # type: ignore[no-any-return]
