"""Builders for the architectures written here (SegNet, ResUNet, SmallUNet)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segcore.errors import ModelError

if TYPE_CHECKING:
    from torch import nn


def _no_encoder_no_weights(name: str, encoder: str | None, pretrained: bool) -> None:
    if encoder is not None:
        raise ModelError(f"{name} has no encoder choice; leave the encoder unset")
    if pretrained:
        raise ModelError(f"{name} has no pretrained weights; train it or use an smp model")


def build_small_unet(
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """Small U-Net; config ``channels`` (default 16, 32, 64, 128)."""
    from segcore.models.small_unet.model import SmallUNet

    _no_encoder_no_weights("small_unet", encoder, pretrained)
    return SmallUNet(num_classes=num_classes, in_channels=in_channels, **config)


def build_segnet(
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """SegNet; config ``channels`` and ``convs`` per level."""
    from segcore.models.segnet.model import SegNet

    _no_encoder_no_weights("segnet", encoder, pretrained)
    return SegNet(num_classes=num_classes, in_channels=in_channels, **config)


def build_resunet(
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """ResUNet; config ``channels`` per level."""
    from segcore.models.resunet.model import ResUNet

    _no_encoder_no_weights("resunet", encoder, pretrained)
    return ResUNet(num_classes=num_classes, in_channels=in_channels, **config)
