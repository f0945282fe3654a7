"""Compare a prediction with labels, window by window, as jobs.

Both sides are label readers (:class:`~segcore.labels.reader.LabelReader`): a
label store, a mask file (:func:`segcore.formats.maskfile.mask_labels`), the
app's prediction map. ``tessera eval`` and the app's Metrics dock run these.

Example
-------
>>> job = compare_semantic(prediction_labels, store)  # doctest: +SKIP
>>> cm = run_to_end(job); cm.scores().miou  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from segcore.errors import LabelError
from segcore.jobs import Job, Progress
from segcore.labels.box import Box, windows
from segcore.labels.reader import LabelReader
from segcore.labels.schema import MAX_CLASSES, UNLABELLED
from segcore.metrics.confusion import ConfusionMatrix
from segcore.metrics.matching import ObjectMatcher
from segcore.metrics.panoptic import PanopticQuality


def _region(pred: LabelReader, gt: LabelReader, box: Box | None) -> Box:
    if (pred.width, pred.height) != (gt.width, gt.height):
        raise LabelError(
            f"prediction is {pred.width} x {pred.height} but the labels are "
            f"{gt.width} x {gt.height}"
        )
    image = Box(0, 0, gt.width, gt.height)
    return image if box is None else box.intersect(image)


def compare_semantic(
    pred: LabelReader,
    gt: LabelReader,
    *,
    num_classes: int | None = None,
    ignore: int = UNLABELLED,
    window: int = 2048,
    box: Box | None = None,
    predicted_only: bool = False,
) -> Job[ConfusionMatrix]:
    """Confusion matrix of ``pred`` against ``gt`` (ground truth), yielding progress in pixels.

    ``num_classes`` defaults to one more than the highest class id of ``gt``'s
    classes. ``box`` (level-0 pixels) compares only that part of the image;
    with ``predicted_only`` pixels the prediction leaves unlabelled are left
    out too (a model run over part of the image is judged on that part).
    """
    region = _region(pred, gt, box)
    n = num_classes or (max((c.id for c in gt.classes), default=0) + 1)
    cm = ConfusionMatrix(min(n, MAX_CLASSES), ignore=ignore)
    done, total = 0, region.area
    for part in windows(region.w, region.h, window):
        x, y, w, h = region.x + part.x, region.y + part.y, part.w, part.h
        predicted = pred.read("semantic", x, y, w, h)
        truth = gt.read("semantic", x, y, w, h)
        if predicted_only:
            truth = np.where(predicted == UNLABELLED, ignore, truth)
        cm.update(predicted, truth)
        done += w * h
        yield Progress(done, total, message="comparing")
    return cm


def compare_panoptic(
    pred: LabelReader,
    gt: LabelReader,
    *,
    num_classes: int,
    things: Collection[int],
    ignore: int = UNLABELLED,
    window: int = 2048,
) -> Job[PanopticQuality]:
    """Panoptic quality of ``pred`` against ``gt`` (one image), yielding progress in pixels."""
    region = _region(pred, gt, None)
    pq = PanopticQuality(num_classes, things, ignore=ignore)
    done = 0
    for x, y, w, h in windows(region.w, region.h, window):
        pq.add(
            gt.read("semantic", x, y, w, h),
            gt.read("instance", x, y, w, h),
            pred.read("semantic", x, y, w, h),
            pred.read("instance", x, y, w, h),
        )
        done += w * h
        yield Progress(done, region.area, message="panoptic quality")
    pq.end_image()
    return pq


def compare_objects(
    pred: LabelReader, gt: LabelReader, *, iou: float = 0.5, window: int = 2048
) -> Job[ObjectMatcher]:
    """Object matches of ``pred`` against ``gt`` at ``iou`` (one image, instance ids only)."""
    region = _region(pred, gt, None)
    matcher = ObjectMatcher(iou)
    done = 0
    for x, y, w, h in windows(region.w, region.h, window):
        matcher.add(gt.read("instance", x, y, w, h), pred.read("instance", x, y, w, h))
        done += w * h
        yield Progress(done, region.area, message="object matching")
    matcher.end_image()
    return matcher
