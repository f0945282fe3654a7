"""ResUNet wiring: residual encoder (strided), bridge, residual decoder with skips.

Default channels (32, 64, 128, 256): three encoder levels and a bridge, output
stride 8. The paper's network is ``channels=(64, 128, 256, 512)``.
"""

from __future__ import annotations

from functools import partial

from segcore.models.layers import UNetBlocks, UNetWiring
from segcore.models.resunet import CHANNELS
from segcore.models.resunet.blocks import ResidualUnit, UpStep


class ResUNet(UNetWiring):
    """U-Net of residual units; H and W must be multiples of ``2 ** (len(channels) - 1)``.

    Downsampling is strided, and the last down step is the bridge.
    """

    blocks = UNetBlocks(
        stem=partial(ResidualUnit, first=True),
        down=partial(ResidualUnit, stride=2),
        up=UpStep,
    )
    default_channels = CHANNELS
