"""SegNet (Badrinarayanan et al. 2017): the decoder unpools with the encoder's indices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segcore.models.registry import architecture

if TYPE_CHECKING:
    from torch import nn

CHANNELS = (32, 64, 128, 256)  # per level; output stride 2 ** levels
CONVS = (2, 2, 3, 3)  # convolutions per level


@architecture(
    "segnet",
    family="tessera",
    description="SegNet: decoder upsamples with the encoder's max-pooling indices",
    output_stride=16,
    stride_of=lambda config: 2 ** len(config.get("channels", CHANNELS)),
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
    """SegNet; config ``channels`` and ``convs`` per level (no encoder, no weights)."""
    from segcore.models.segnet.model import SegNet

    return SegNet(num_classes=num_classes, in_channels=in_channels, **config)
