"""SegNet (Badrinarayanan et al. 2017): the decoder unpools with the encoder's indices."""

CHANNELS = (32, 64, 128, 256)  # per level; output stride 2 ** levels
CONVS = (2, 2, 3, 3)  # convolutions per level
