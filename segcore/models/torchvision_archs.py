"""torchvision's segmentation models, wrapped to return logits and take any band count,
registered here.

``pretrained=True`` loads ImageNet weights for the backbone (torchvision's
``weights_backbone``); the head is always new, sized for ``num_classes``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from segcore.errors import ModelError
from segcore.models.pretrained import fetch_torchvision
from segcore.models.registry import ArchEntry, register

if TYPE_CHECKING:
    from torch import nn

# name, description, global context, output stride
ARCHITECTURES = [
    ("fcn_resnet50", "FCN, ResNet-50 (dilated; receptive field too wide to probe)", False, 8),
    ("fcn_resnet101", "FCN, ResNet-101 (dilated; receptive field too wide to probe)", False, 8),
    ("deeplabv3_resnet50", "DeepLabV3 (ASPP with image pooling), ResNet-50", True, 8),
    ("deeplabv3_resnet101", "DeepLabV3 (ASPP with image pooling), ResNet-101", True, 8),
    ("deeplabv3_mobilenet_v3_large", "DeepLabV3, MobileNetV3-Large backbone", True, 16),
    ("lraspp_mobilenet_v3_large", "Lite R-ASPP (global pooling gate), MobileNetV3-Large", True, 16),
]

# name -> backbone weights enum (in torchvision.models) used when pretrained
BACKBONES = {
    "fcn_resnet50": "ResNet50_Weights",
    "fcn_resnet101": "ResNet101_Weights",
    "deeplabv3_resnet50": "ResNet50_Weights",
    "deeplabv3_resnet101": "ResNet101_Weights",
    "deeplabv3_mobilenet_v3_large": "MobileNet_V3_Large_Weights",
    "lraspp_mobilenet_v3_large": "MobileNet_V3_Large_Weights",
}


def build_torchvision(
    name: str,
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """Build torchvision segmentation model ``name``; forward returns the ``"out"`` tensor."""
    import torchvision.models
    from torchvision.models import segmentation

    from segcore.models.layers import OutOnly, replace_first_conv

    if encoder is not None:
        raise ModelError(f"{name} has a fixed backbone; leave the encoder unset")
    backbone = None
    if pretrained:
        backbone = getattr(torchvision.models, BACKBONES[name]).IMAGENET1K_V1
        fetch_torchvision(backbone.url, name)
    try:
        model = getattr(segmentation, name)(
            weights=None, weights_backbone=backbone, num_classes=num_classes, **config
        )
    except TypeError as exc:
        raise ModelError(f"{name}: bad config {config} ({exc})") from exc
    replace_first_conv(model, in_channels, pretrained=pretrained)
    return OutOnly(model)


for _name, _desc, _global, _stride in ARCHITECTURES:
    register(
        ArchEntry(
            name=_name,
            family="torchvision",
            description=_desc,
            builder=partial(build_torchvision, _name),
            global_context=_global,
            output_stride=_stride,
        )
    )
