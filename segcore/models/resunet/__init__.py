"""ResUNet (Zhang, Liu and Wang 2018): a U-Net built from residual units."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segcore.models.registry import architecture

if TYPE_CHECKING:
    from torch import nn

CHANNELS = (32, 64, 128, 256)  # per level (the last is the bridge); stride 2 ** (levels - 1)


@architecture(
    "resunet",
    family="tessera",
    description="ResUNet: U-Net built from residual units",
    output_stride=8,
    stride_of=lambda config: 2 ** (len(config.get("channels", CHANNELS)) - 1),
    pretrained_weights=False,
)
def build(
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """ResUNet; config ``channels`` per level (no encoder, no weights)."""
    from segcore.models.resunet.model import ResUNet

    return ResUNet(num_classes=num_classes, in_channels=in_channels, **config)
