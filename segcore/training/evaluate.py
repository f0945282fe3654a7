"""Confusion matrices, IoU, and whole-array prediction for small images.

mIoU is the mean over classes that occur in the labels or the prediction
(a class absent from both has no IoU and is left out, not counted as 0 or 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from segcore.labels.schema import UNLABELLED

if TYPE_CHECKING:
    import torch
    from torch import nn

    from segcore.models.meta import ModelMeta


def confusion(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts, rows = true class, columns = predicted; UNLABELLED skipped.

    >>> confusion(np.array([0, 1, 1]), np.array([0, 1, 255]), 2).tolist()
    [[1, 0], [0, 1]]
    """
    t = np.asarray(target).ravel().astype(np.int64)
    p = np.asarray(pred).ravel().astype(np.int64)
    keep = (t != UNLABELLED) & (t < num_classes)
    idx = t[keep] * num_classes + np.clip(p[keep], 0, num_classes - 1)
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_per_class(conf: np.ndarray) -> np.ndarray:
    """IoU of each class; NaN where the class is neither labelled nor predicted."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def mean_iou(conf: np.ndarray) -> float:
    """Mean IoU over classes that occur (0.0 for an empty matrix)."""
    ious = iou_per_class(conf)
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else 0.0


def predict_probabilities(
    module: nn.Module, meta: ModelMeta, pixels: np.ndarray, *, device: str = "cpu"
) -> torch.Tensor:
    """Softmax probabilities (C, h, w) of a small (h, w[, bands]) image, in one pass.

    The image is padded (reflect) to a multiple of the model's output stride and
    the padding cut off again. For large images use the tiled inference engine.
    """
    import torch
    import torch.nn.functional as F

    from segcore.training.dataset import normalise, to_tensor

    if pixels.ndim == 2:
        pixels = pixels[..., None]
    h, w = pixels.shape[:2]
    stride = meta.output_stride
    image = normalise(to_tensor(pixels, meta.normalization.scale), meta.normalization)
    ph, pw = -h % stride, -w % stride
    batch = image[None].to(device)
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        batch = F.pad(batch, (0, pw, 0, ph), mode=mode)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            logits = module(batch)[0, :, :h, :w].float()
    finally:
        module.train(was_training)
    return torch.softmax(logits, dim=0).cpu()


def predict_classes(
    module: nn.Module, meta: ModelMeta, pixels: np.ndarray, *, device: str = "cpu"
) -> np.ndarray:
    """Class map (h, w) uint8 of a small image (see :func:`predict_probabilities`)."""
    probs = predict_probabilities(module, meta, pixels, device=device)
    return probs.argmax(0).numpy().astype(np.uint8)
