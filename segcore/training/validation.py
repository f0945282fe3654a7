"""Confusion matrices, IoU, and whole-array prediction for small images.

mIoU is the mean over classes that occur in the labels or the prediction
(a class absent from both has no IoU and is left out, not counted as 0 or 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from segcore.labels.schema import UNLABELLED
from segcore.metrics.confusion import ConfusionMatrix, semantic_scores

if TYPE_CHECKING:
    import torch
    from torch import nn

    from segcore.models.meta import ModelMeta


def confusion(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C + 1) counts from :class:`segcore.metrics.confusion.ConfusionMatrix`.

    Rows are true classes, columns predicted ones (the last: out of range);
    UNLABELLED targets and targets beyond ``num_classes`` are skipped.
    """
    target = np.asarray(target)
    cm = ConfusionMatrix(num_classes)
    cm.update(np.asarray(pred), np.where(target < num_classes, target, UNLABELLED))
    return cm.matrix


def iou_per_class(conf: np.ndarray) -> np.ndarray:
    """IoU of each class; NaN where the class is neither labelled nor predicted."""
    return semantic_scores(conf).iou


def mean_iou(conf: np.ndarray) -> float:
    """Mean IoU over classes that occur (0.0 for an empty matrix, so it orders)."""
    miou = semantic_scores(conf).miou
    return 0.0 if np.isnan(miou) else miou


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
