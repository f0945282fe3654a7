"""ResUNet (Zhang, Liu and Wang 2018): a U-Net built from residual units."""
