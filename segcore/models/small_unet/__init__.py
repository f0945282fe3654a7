"""A small, fast U-Net for interactive use on CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segcore.models.registry import architecture

if TYPE_CHECKING:
    from torch import nn

CHANNELS = (16, 32, 64, 128)  # per level; output stride 2 ** (levels - 1)


@architecture(
    "small_unet",
    family="tessera",
    description="small fast U-Net for interactive CPU use (16-32-64-128, stride 8)",
    tile_size=256,
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
    """Small U-Net; config ``channels`` (default 16, 32, 64, 128). ``build_model`` has
    refused an encoder or ``pretrained`` already (the entry has neither)."""
    from segcore.models.small_unet.model import SmallUNet

    return SmallUNet(num_classes=num_classes, in_channels=in_channels, **config)
