"""Promptable segmentation models (the SAM family) as ONNX encoder + decoder pairs.

A pair is two ONNX files and a JSON sidecar (:mod:`.pair`): the encoder turns
one square window of pixels into an embedding once, the decoder turns the
embedding plus clicks or a box into masks in milliseconds. The layout of a
pair (input and output names, as written by ``samexporter`` or the official
exports) is recognised from the graphs (:mod:`.layout`); pairs are run with
onnxruntime (:mod:`.runtime`), registered in a folder of the user's data
(:mod:`.store`), and exported once from a downloaded ``.pt`` checkpoint in a
child process (:mod:`.export`). Nothing is unpickled at run time.
"""
