"""SegNet (Badrinarayanan et al. 2017): the decoder unpools with the encoder's indices."""
