"""Compare a prediction with labels over a whole image, window by window, as a job.

What the app's Metrics dock runs: the user's labels (a label store) against
the current prediction (an image source whose band 0 holds class ids).

Example
-------
>>> job = compare_semantic(SourceLabels(prediction, classes), store_labels)  # doctest: +SKIP
>>> cm = run_to_end(job); cm.scores().miou  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import LabelError
from segcore.formats.base import LabelReader, Layer, windows
from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress
from segcore.labels.schema import MAX_CLASSES, UNLABELLED, ClassInfo
from segcore.metrics.confusion import ConfusionMatrix


class SourceLabels:
    """An image source's band 0 (class ids) as a :class:`LabelReader` with no instances."""

    def __init__(self, source: ImageSource, classes: Sequence[ClassInfo]) -> None:
        self.source = source
        self._classes = list(classes)

    @property
    def width(self) -> int:
        return int(self.source.width)

    @property
    def height(self) -> int:
        return int(self.source.height)

    @property
    def classes(self) -> list[ClassInfo]:
        return list(self._classes)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int) -> NDArray[Any]:
        w, h = min(w, self.width - x), min(h, self.height - y)
        if layer == "instance":
            return np.zeros((h, w), np.uint32)
        values = np.asarray(self.source.read_region(0, x, y, w, h)[..., 0])
        bad = (values < 0) | (values > UNLABELLED)
        return np.where(bad, UNLABELLED, values).astype(np.uint8)


def compare_semantic(
    pred: LabelReader,
    gt: LabelReader,
    *,
    num_classes: int | None = None,
    ignore: int = UNLABELLED,
    window: int = 2048,
) -> Job[ConfusionMatrix]:
    """Confusion matrix of ``pred`` against ``gt`` (ground truth), yielding progress in pixels.

    ``num_classes`` defaults to one more than the highest class id of ``gt``'s classes.
    """
    if (pred.width, pred.height) != (gt.width, gt.height):
        raise LabelError(
            f"prediction is {pred.width} x {pred.height} but the labels are "
            f"{gt.width} x {gt.height}"
        )
    n = num_classes or (max((c.id for c in gt.classes), default=0) + 1)
    cm = ConfusionMatrix(min(n, MAX_CLASSES), ignore=ignore)
    done, total = 0, gt.width * gt.height
    for x, y, w, h in windows(gt.width, gt.height, window):
        cm.update(pred.read("semantic", x, y, w, h), gt.read("semantic", x, y, w, h))
        done += w * h
        yield Progress(done, total, message="comparing")
    return cm
