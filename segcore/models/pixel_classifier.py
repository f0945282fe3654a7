"""The pixel classifier's registry entry: a random forest, not a network.

:mod:`segcore.pixelclass` trains it from labels and saves it as ONNX; it is
registered here, beside the networks, so that ``tessera models list``, ``tessera
train --arch`` and the Training dock offer it. Building it as a torch module is
refused with a message that says how to train one.
"""

from __future__ import annotations

from typing import Any

from segcore.errors import ModelError
from segcore.models.registry import architecture

ARCH = "pixel-classifier"


@architecture(
    ARCH,
    family="sklearn",
    description="random forest on multiscale filter features (ilastik-style), "
    "trained in seconds on a CPU; saved as ONNX",
    tile_size=512,
    output_stride=1,
    pretrained_weights=False,
)
def build(**_: Any) -> Any:
    raise ModelError(
        f"{ARCH} is a random forest, not a network: train one from labels with "
        f"`tessera train --arch {ARCH}` or the Training dock"
    )
