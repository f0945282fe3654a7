"""A U-Net predicting foreground, boundary and distance maps, for instance segmentation.

The wiring is :class:`segcore.models.small_unet.model.SmallUNet` (or, with an
encoder, an smp U-Net); only the number of output channels differs from the
semantic architectures: :func:`segcore.models.instance.dense_channels`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segcore.models.instance import dense_channels
from segcore.models.registry import architecture
from segcore.models.small_unet import CHANNELS

if TYPE_CHECKING:
    from torch import nn

SMP_ENCODERS = ("resnet18", "resnet34", "mobilenet_v2", "efficientnet-b0")


@architecture(
    "instance_unet",
    family="tessera",
    description="instance U-Net (16-32-64-128, stride 8): foreground, boundary and "
    "distance maps grouped into objects by seeded watershed",
    tile_size=256,
    output_stride=8,
    stride_of=lambda config: 2 ** (len(config.get("channels", CHANNELS)) - 1),
    pretrained_weights=False,
    task="instance",
)
def build(
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """Small U-Net with :func:`dense_channels` outputs; config ``channels`` as small_unet's."""
    from segcore.models.small_unet.model import SmallUNet

    return SmallUNet(num_classes=dense_channels(num_classes), in_channels=in_channels, **config)


@architecture(
    "instance_smp_unet",
    family="smp",
    description="instance smp U-Net (encoder choice, stride 32): foreground, boundary "
    "and distance maps grouped into objects by seeded watershed",
    encoders=SMP_ENCODERS,
    default_encoder="resnet18",
    tile_size=512,
    output_stride=32,
    stride_of=lambda config: 2 ** int(config.get("encoder_depth", 5)),
    task="instance",
)
def build_smp(
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """smp U-Net with :func:`dense_channels` outputs (pretrained encoder: as smp_archs)."""
    from segcore.models.smp_archs import build_smp

    return build_smp(
        "unet",
        num_classes=dense_channels(num_classes),
        in_channels=in_channels,
        encoder=encoder or "resnet18",
        pretrained=pretrained,
        **config,
    )
