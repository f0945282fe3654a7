"""A small, fast U-Net for interactive use on CPU."""

CHANNELS = (16, 32, 64, 128)  # per level; output stride 2 ** (levels - 1)
