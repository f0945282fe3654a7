"""The built-in architectures, registered when the registry is first used.

Builders import torch, torchvision and smp only when called, so listing the
architectures stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from segcore.errors import ModelError
from segcore.models import resunet, segnet, small_unet
from segcore.models.registry import ArchEntry, register
from segcore.models.smp_archs import ENCODERS, build_smp
from segcore.models.tessera_archs import build_resunet, build_segnet, build_small_unet
from segcore.models.torchvision_archs import build_torchvision

_TORCHVISION = [
    ("fcn_resnet50", "FCN, ResNet-50 (dilated; receptive field too wide to probe)", False, 8),
    ("fcn_resnet101", "FCN, ResNet-101 (dilated; receptive field too wide to probe)", False, 8),
    ("deeplabv3_resnet50", "DeepLabV3 (ASPP with image pooling), ResNet-50", True, 8),
    ("deeplabv3_resnet101", "DeepLabV3 (ASPP with image pooling), ResNet-101", True, 8),
    ("deeplabv3_mobilenet_v3_large", "DeepLabV3, MobileNetV3-Large backbone", True, 16),
    ("lraspp_mobilenet_v3_large", "Lite R-ASPP (global pooling gate), MobileNetV3-Large", True, 16),
]

_SMP = [
    ("unet", "U-Net with a pretrained-able encoder", False, 32, "resnet18"),
    ("unetplusplus", "U-Net++ (nested dense skip paths)", False, 32, "resnet18"),
    ("fpn", "Feature Pyramid Network (GroupNorm over the whole image)", True, 32, "resnet18"),
    ("pspnet", "PSPNet (pyramid pooling, global context)", True, 8, "resnet18"),
    ("deeplabv3plus", "DeepLabV3+ (ASPP with image pooling + decoder)", True, 16, "resnet18"),
    ("segformer", "Segformer (attention, global context)", True, 32, "mit_b0"),
    ("upernet", "UPerNet (pyramid pooling module, global context)", True, 32, "resnet18"),
]


def _smp_stride(config: Mapping[str, Any]) -> int:
    return int(2 ** int(config.get("encoder_depth", 5)))


def _pspnet_stride(config: Mapping[str, Any]) -> int:
    return int(2 ** int(config.get("encoder_depth", 3)))


def _deeplab_stride(config: Mapping[str, Any]) -> int:
    return int(config.get("encoder_output_stride", 16))


def _unet_stride(default: tuple[int, ...]) -> Any:
    return lambda config: 2 ** (len(config.get("channels", default)) - 1)


_SMP_STRIDE = {"pspnet": _pspnet_stride, "deeplabv3plus": _deeplab_stride}

for _name, _desc, _global, _stride in _TORCHVISION:
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

for _name, _desc, _global, _stride, _default in _SMP:
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
            stride_of=_SMP_STRIDE.get(_name, _smp_stride),
        )
    )

register(
    ArchEntry(
        name="small_unet",
        family="tessera",
        description="small fast U-Net for interactive CPU use (16-32-64-128, stride 8)",
        builder=build_small_unet,
        tile_size=256,
        output_stride=8,
        stride_of=_unet_stride(small_unet.CHANNELS),
    )
)
register(
    ArchEntry(
        name="segnet",
        family="tessera",
        description="SegNet: decoder upsamples with the encoder's max-pooling indices",
        builder=build_segnet,
        output_stride=16,
        stride_of=lambda config: 2 ** len(config.get("channels", segnet.CHANNELS)),
    )
)
register(
    ArchEntry(
        name="resunet",
        family="tessera",
        description="ResUNet: U-Net built from residual units",
        builder=build_resunet,
        output_stride=8,
        stride_of=_unet_stride(resunet.CHANNELS),
    )
)


def _not_a_network(**_: Any) -> Any:
    raise ModelError(
        "pixel-classifier is a random forest, not a network: train one from labels with "
        "`tessera train --arch pixel-classifier` or the Training dock"
    )


# Not a torch module: segcore.pixelclass trains it and saves it as ONNX. Registered so
# that listings and the Training dock offer it beside the networks.
register(
    ArchEntry(
        name="pixel-classifier",
        family="sklearn",
        description="random forest on multiscale filter features (ilastik-style), "
        "trained in seconds on a CPU; saved as ONNX",
        builder=_not_a_network,
        tile_size=512,
        output_stride=1,
    )
)
