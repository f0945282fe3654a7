"""The pixel classifier: a random forest on multiscale filter features (ilastik style).

Modules: ``features`` (which filters, their kernels), ``graph`` (the filters as
an ONNX graph), ``pixels`` (nodata, normalisation, band statistics),
``classifier`` (feature extractor and the fitted forest), ``samples``
(class-balanced samples of labelled pixels), ``train`` (the training job),
``onnx_model`` (one ONNX file + sidecar JSON for the engine), ``live``
(retrain and predict a view after each stroke).

Names are imported lazily: ``import segcore.pixelclass`` costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from segcore.models.pixel_classifier import ARCH as ARCH

_EXPORTS = {
    "FeatureSpec": "segcore.pixelclass.features",
    "FeatureExtractor": "segcore.pixelclass.classifier",
    "PixelClassifier": "segcore.pixelclass.classifier",
    "PixelConfig": "segcore.pixelclass.train",
    "PixelResult": "segcore.pixelclass.train",
    "train_pixel_classifier": "segcore.pixelclass.train",
    "save_classifier": "segcore.pixelclass.onnx_model",
    "to_onnx": "segcore.pixelclass.onnx_model",
}

__all__ = sorted([*_EXPORTS, "ARCH"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'segcore.pixelclass' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
