"""ResUNet (Zhang, Liu and Wang 2018): a U-Net built from residual units."""

CHANNELS = (32, 64, 128, 256)  # per level (the last is the bridge); stride 2 ** (levels - 1)
