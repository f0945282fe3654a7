"""Promptable segmentation on images of any size: windows, embeddings, masks.

The encoder of a SAM-family pair sees one square window of one pyramid level
(:mod:`.geometry` picks the level that matches the view and maps prompts
between level 0, the level, the window and the encoder input). Embeddings
are cached on disk per image, level and window (:mod:`.embeddings`), so a
click on a view seen before never waits for the encoder; :mod:`.session`
turns clicks and boxes into masks, :mod:`.precompute` fills the cache for a
whole level as a job, and :mod:`.commit` paints a mask found at a coarse
level into the level-0 labels, row band by row band.
"""
