"""A small, fast U-Net for interactive use on CPU."""
