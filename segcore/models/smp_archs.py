"""segmentation-models-pytorch architectures with a choice of encoder, registered here.

Random initialisation unless ``pretrained``; then the encoder's ImageNet weights
come through :func:`segcore.models.pretrained.smp_encoder_state` (offline-friendly)
and the first convolution is adapted to ``in_channels`` the way smp does it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from segcore.errors import ModelError
from segcore.models.pretrained import smp_encoder_state
from segcore.models.registry import ArchEntry, register

if TYPE_CHECKING:
    from torch import nn

# registry name -> smp class name
CLASSES = {
    "unet": "Unet",
    "unetplusplus": "UnetPlusPlus",
    "fpn": "FPN",
    "pspnet": "PSPNet",
    "deeplabv3plus": "DeepLabV3Plus",
    "segformer": "Segformer",
    "upernet": "UPerNet",
}

# name, description, global context, output stride, default encoder
ARCHITECTURES = [
    ("unet", "U-Net with a pretrained-able encoder", False, 32, "resnet18"),
    ("unetplusplus", "U-Net++ (nested dense skip paths)", False, 32, "resnet18"),
    ("fpn", "Feature Pyramid Network (GroupNorm over the whole image)", True, 32, "resnet18"),
    ("pspnet", "PSPNet (pyramid pooling, global context)", True, 8, "resnet18"),
    ("deeplabv3plus", "DeepLabV3+ (ASPP with image pooling + decoder)", True, 16, "resnet18"),
    ("segformer", "Segformer (attention, global context)", True, 32, "mit_b0"),
    ("upernet", "UPerNet (pyramid pooling module, global context)", True, 32, "resnet18"),
]

ENCODERS = ("resnet18", "resnet34", "resnet50", "mobilenet_v2", "efficientnet-b0", "mit_b0")


def build_smp(
    name: str,
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    **config: Any,
) -> nn.Module:
    """Build smp architecture ``name`` with ``encoder`` (random init unless pretrained)."""
    import segmentation_models_pytorch as smp

    cls = getattr(smp, CLASSES[name])
    try:
        model: nn.Module = cls(
            encoder_name=encoder,
            encoder_weights=None,
            in_channels=3 if pretrained else in_channels,
            classes=num_classes,
            **config,
        )
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"{name} with encoder {encoder}: {exc}") from exc
    if pretrained:
        assert encoder is not None
        encoder_module: Any = model.encoder
        encoder_module.load_state_dict(smp_encoder_state(encoder))
        if in_channels != 3:
            encoder_module.set_in_channels(in_channels, pretrained=True)
    return model


def _smp_stride(config: Mapping[str, Any]) -> int:
    return int(2 ** int(config.get("encoder_depth", 5)))


def _pspnet_stride(config: Mapping[str, Any]) -> int:
    return int(2 ** int(config.get("encoder_depth", 3)))


def _deeplab_stride(config: Mapping[str, Any]) -> int:
    return int(config.get("encoder_output_stride", 16))


_STRIDE_OF = {"pspnet": _pspnet_stride, "deeplabv3plus": _deeplab_stride}

for _name, _desc, _global, _stride, _default in ARCHITECTURES:
    register(
        ArchEntry(
            name=_name,
            family="smp",
            description=_desc,
            builder=partial(build_smp, _name),
            encoders=tuple(e for e in ENCODERS if not (_name == "unetplusplus" and e == "mit_b0")),
            default_encoder=_default,
            global_context=_global,
            output_stride=_stride,
            stride_of=_STRIDE_OF.get(_name, _smp_stride),
        )
    )
