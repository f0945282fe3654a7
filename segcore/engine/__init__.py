"""Overlap-tile inference: any model over any image, in bounded memory.

Modules: :mod:`~segcore.engine.request` (checks a request), :mod:`~segcore.engine.backend`
(model, device and runner), :mod:`~segcore.engine.tiling` (the tile plan, decided once),
:mod:`~segcore.engine.reader` (prefetching, normalisation), :mod:`~segcore.engine.runners`
(PyTorch / onnxruntime), :mod:`~segcore.engine.merger` (exact copy or blended average),
:mod:`~segcore.engine.writers` (GeoTIFF, BigTIFF, zarr, PNG on a writer thread) and
:mod:`~segcore.engine.infer` (the job).
Importing this package does not import torch.
"""

from segcore.engine.infer import infer
from segcore.engine.merger import TilePatch
from segcore.engine.options import InferOptions, InferResult

__all__ = ["InferOptions", "InferResult", "TilePatch", "infer"]
