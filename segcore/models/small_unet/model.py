"""SmallUNet: four levels (16-32-64-128 channels by default), output stride 8.

Sized for interactive inference on a laptop CPU: about 0.5 M parameters and a
receptive field radius near 50 pixels, so overlap tiles need only a small halo.
"""

from __future__ import annotations

from segcore.models.layers import UNetBlocks, UNetWiring
from segcore.models.small_unet import CHANNELS
from segcore.models.small_unet.blocks import DoubleConv, Down, Up


class SmallUNet(UNetWiring):
    """A plain U-Net; input H and W must be multiples of ``2 ** (len(channels) - 1)``."""

    blocks = UNetBlocks(stem=DoubleConv, down=Down, up=Up)
    default_channels = CHANNELS
