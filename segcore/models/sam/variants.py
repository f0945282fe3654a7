"""The promptable variants Tessera knows: layout, input, normalisation, licence, source.

The figures are those of the published models; ``layout`` names the ONNX
interface a pair of that variant has (see :mod:`segcore.models.sam.layout`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from segcore.errors import ModelError

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class Variant:
    """One published promptable model.

    Normalisation is ``(pixel - mean) / std`` on 8-bit RGB (``scale`` 1) or on
    ``pixel / 255`` (``scale`` 255), as the model was trained.
    """

    name: str
    layout: str  # "sam" | "sam2" | "efficientsam"
    input_size: int  # side of the square encoder input
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float
    licence: str
    source: str  # where the checkpoint or the ONNX pair is published
    checkpoint: str  # file name of the published checkpoint
    parameters_m: float  # encoder + decoder, millions


_SAM_SRC = "https://github.com/facebookresearch/segment-anything#model-checkpoints"
_SAM2_SRC = "https://github.com/facebookresearch/sam2#model-description"
_UNIT = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
_IMAGENET01 = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("vit_b", "sam", 1024, IMAGENET_MEAN, IMAGENET_STD, 1.0, "Apache-2.0",
                _SAM_SRC, "sam_vit_b_01ec64.pth", 93.7),
        Variant("vit_l", "sam", 1024, IMAGENET_MEAN, IMAGENET_STD, 1.0, "Apache-2.0",
                _SAM_SRC, "sam_vit_l_0b3195.pth", 312.3),
        Variant("vit_h", "sam", 1024, IMAGENET_MEAN, IMAGENET_STD, 1.0, "Apache-2.0",
                _SAM_SRC, "sam_vit_h_4b8939.pth", 641.1),
        Variant("mobile_sam", "sam", 1024, IMAGENET_MEAN, IMAGENET_STD, 1.0, "Apache-2.0",
                "https://github.com/ChaoningZhang/MobileSAM", "mobile_sam.pt", 10.1),
        Variant("efficientsam_ti", "efficientsam", 1024, *_UNIT, 255.0, "Apache-2.0",
                "https://github.com/yformer/EfficientSAM", "efficient_sam_vitt.pt", 10.2),
        Variant("efficientsam_s", "efficientsam", 1024, *_UNIT, 255.0, "Apache-2.0",
                "https://github.com/yformer/EfficientSAM", "efficient_sam_vits.pt", 26.4),
        Variant("sam2_hiera_t", "sam2", 1024, *_IMAGENET01, 255.0, "Apache-2.0",
                _SAM2_SRC, "sam2.1_hiera_tiny.pt", 38.9),
        Variant("sam2_hiera_s", "sam2", 1024, *_IMAGENET01, 255.0, "Apache-2.0",
                _SAM2_SRC, "sam2.1_hiera_small.pt", 46.0),
        Variant("sam2_hiera_b+", "sam2", 1024, *_IMAGENET01, 255.0, "Apache-2.0",
                _SAM2_SRC, "sam2.1_hiera_base_plus.pt", 80.8),
        Variant("sam2_hiera_l", "sam2", 1024, *_IMAGENET01, 255.0, "Apache-2.0",
                _SAM2_SRC, "sam2.1_hiera_large.pt", 224.4),
    )
}  # fmt: skip


def get_variant(name: str) -> Variant:
    """The variant called ``name``; an unknown name names the nearest known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        near = difflib.get_close_matches(name, list(VARIANTS), n=3) or sorted(VARIANTS)
        raise ModelError(f"unknown promptable variant {name!r}; known: {', '.join(near)}") from None
