"""segmentation-models-pytorch architectures with a choice of encoder.

Random initialisation unless ``pretrained``; then the encoder's ImageNet weights
come through :func:`segcore.models.pretrained.smp_encoder_state` (offline-friendly)
and the first convolution is adapted to ``in_channels`` the way smp does it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segcore.errors import ModelError
from segcore.models.pretrained import smp_encoder_state

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
