"""Survey the labels block by block, check them, and measure the bands.

Each image is cut into a grid of square blocks. The survey reads the class map
one block at a time (memory stays at one block) and keeps, for blocks that hold
any label, their labelled pixel count per class. Labels that lie on pixels
holding no data (the rule of :mod:`segcore.io.validity`, the inference
engine's) do not count: training never sees them.

Checks refuse what cannot be trained on (no labels, one class, unknown ids,
labels only on nodata, a 0/255 binary mask read as "class 0 and unlabelled")
and list what can but deserves a word (a class with very few pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from segcore.errors import TrainingError
from segcore.io.source import ImageSource
from segcore.io.validity import alpha_band, has_mask, read_invalid
from segcore.labels.box import Box, windows
from segcore.labels.schema import UNLABELLED, ClassInfo
from segcore.training.data import LabelledImage, TrainingData

FEW_PIXELS = 50
"""A class with fewer labelled pixels than this is named in a warning."""


@dataclass(frozen=True)
class Block:
    """A labelled block of one image; ``counts[c]`` labelled (valid) pixels of class c."""

    image: int  # index into TrainingData.images
    box: Box
    counts: np.ndarray  # (256,) int64; counts[255] = 0

    @property
    def labelled(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class Survey:
    """The labelled blocks, and what the labels hold that training cannot use."""

    blocks: list[Block]
    on_nodata: int = 0  # labelled pixels lying on nodata (left out)
    unlabelled: int = 0  # pixels read as UNLABELLED (255) in the blocks read


def may_hold_nodata(source: ImageSource) -> bool:
    """False when no pixel of ``source`` can be invalid (no need to read it for labels)."""
    return (
        source.dtype.kind in "fc"
        or source.nodata is not None
        or alpha_band(source) is not None
        or has_mask(source)
    )


def valid_labels(item: LabelledImage, box: Box) -> tuple[np.ndarray, int]:
    """Labels of ``box`` with nodata pixels set to UNLABELLED, and how many were so set."""
    labels = item.labels.read("semantic", box.x, box.y, box.w, box.h)
    if not may_hold_nodata(item.image):
        return labels, 0
    pixels = item.image.read_region(0, box.x, box.y, box.w, box.h)
    invalid = read_invalid(item.image, pixels, 0, box.x, box.y)
    if invalid is None:
        return labels, 0
    lost = int((invalid & (labels != UNLABELLED)).sum())
    return np.where(invalid, np.uint8(UNLABELLED), labels), lost


def survey(data: TrainingData, *, block: int) -> list[Block]:
    """Read every block's labels and return the blocks that hold any valid label."""
    return survey_labels(data, block=block).blocks


def survey_labels(data: TrainingData, *, block: int) -> Survey:
    """:func:`survey` with the counts of labels on nodata and of unlabelled pixels."""
    blocks = []
    on_nodata = unlabelled = 0
    for index, item in enumerate(data.images):
        touched = _hinted_blocks(item.labelled_hint(), block) if item.labelled_hint else None
        for box in windows(item.width, item.height, block):
            if touched is not None and (box.x // block, box.y // block) not in touched:
                continue
            labels, lost = valid_labels(item, box)
            on_nodata += lost
            counts = np.bincount(labels.ravel(), minlength=256).astype(np.int64)
            unlabelled += int(counts[UNLABELLED]) - lost
            counts[UNLABELLED] = 0
            if counts.any():
                blocks.append(Block(index, box, counts))
    return Survey(blocks, on_nodata, unlabelled)


def _hinted_blocks(boxes: Sequence[Box], block: int) -> set[tuple[int, int]]:
    """(column, row) of every block that one of ``boxes`` touches."""
    touched = set()
    for b in boxes:
        if b.is_empty:
            continue
        for row in range(b.y // block, (b.y1 - 1) // block + 1):
            for col in range(b.x // block, (b.x1 - 1) // block + 1):
                touched.add((col, row))
    return touched


def resolve_classes(data: TrainingData, blocks: Sequence[Block]) -> tuple[ClassInfo, ...]:
    """The data's classes, or ``class 0 .. class k`` up to the highest id labelled."""
    from segcore.labels.schema import make_classes

    if data.classes is not None:
        return data.classes
    total = total_counts(blocks)
    highest = int(np.flatnonzero(total).max()) if total.any() else 0
    return tuple(make_classes([f"class {i}" for i in range(highest + 1)]))


def check_labels(
    blocks: Sequence[Block],
    classes: Sequence[ClassInfo],
    data: TrainingData,
    *,
    on_nodata: int = 0,
    unlabelled: int = 0,
) -> list[str]:
    """Refuse labels training cannot use; return warnings about ones it can.

    Refused: no labels, labels only on nodata, a single class (with the 0/255
    binary-mask explanation when the labels come from mask files), unknown ids.
    Warned: a class with fewer than :data:`FEW_PIXELS` labelled pixels, labels
    on nodata that are left out.
    """
    total = total_counts(blocks)
    names = ", ".join(item.name for item in data.images) or "no images"
    if not total.any():
        if on_nodata:
            raise TrainingError(
                f"all {on_nodata} labelled pixels of {names} lie on nodata (pixels that hold "
                "no image data); label pixels inside the image's valid area"
            )
        raise TrainingError(
            f"no labelled pixels in {names}; paint some strokes of at least two classes first"
        )
    known = {c.id for c in classes}
    unknown = [int(i) for i in np.flatnonzero(total) if int(i) not in known]
    if unknown:
        where = _first_image_with(blocks, unknown[0], data)
        raise TrainingError(
            f"labels use class id(s) {unknown} (first in {where}) but the classes are "
            f"{sorted(known)}; add the class or fix the labels"
        )
    present = [c for c in classes if total[c.id] > 0]
    if len(present) < 2:
        if present[0].id == 0 and unlabelled and data.from_mask_files:
            raise TrainingError(
                f"the masks of {names} hold only 0 and 255; Tessera reads 255 as unlabelled, "
                "so only class 0 is labelled. If 255 marks the foreground of a binary mask, "
                "train with --binary-255 (255 becomes class 1)"
            )
        raise TrainingError(
            f"only one class is labelled ({present[0].name}); a model needs examples of at "
            "least two classes: label some background or another class too"
        )
    warnings = [
        f"class {c.name!r} has only {int(total[c.id])} labelled pixel(s) (fewer than "
        f"{FEW_PIXELS}); the model can hardly learn it: label more of it"
        for c in present
        if total[c.id] < FEW_PIXELS
    ]
    if on_nodata:
        warnings.append(f"{on_nodata} labelled pixel(s) lie on nodata and are left out of training")
    return warnings


def total_counts(blocks: Sequence[Block]) -> np.ndarray:
    """Labelled pixels per class id (256,) over ``blocks``."""
    total = np.zeros(256, np.int64)
    for b in blocks:
        total += b.counts
    return total


def _first_image_with(blocks: Sequence[Block], class_id: int, data: TrainingData) -> str:
    for b in blocks:
        if b.counts[class_id]:
            return data.images[b.image].name
    return "?"


def image_stats(
    data: TrainingData, blocks: Sequence[Block], *, scale: float, max_blocks: int = 16
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-band mean and std of ``pixel / scale`` over up to ``max_blocks`` labelled blocks.

    Pixels holding no data are left out (a NaN or a -9999 would swamp the sums).
    """
    step = max(1, len(blocks) // max_blocks)
    sums: np.ndarray | None = None
    squares: np.ndarray | None = None
    count = 0
    for b in list(blocks)[::step][:max_blocks]:
        source = data.images[b.image].image
        pixels = source.read_region(0, b.box.x, b.box.y, b.box.w, b.box.h)
        invalid = read_invalid(source, pixels, 0, b.box.x, b.box.y)
        flat = pixels.reshape(-1, pixels.shape[-1])
        if invalid is not None:
            flat = flat[~invalid.ravel()]
        flat = flat.astype(np.float64) / scale
        sums = flat.sum(0) if sums is None else sums + flat.sum(0)
        sq = (flat**2).sum(0)
        squares = sq if squares is None else squares + sq
        count += flat.shape[0]
    if sums is None or squares is None or count == 0:
        raise TrainingError(
            "no valid pixel in the labelled blocks to measure the image statistics on "
            "(every pixel there is nodata); label pixels inside the image's valid area"
        )
    mean = sums / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std = np.where(std > 1e-6, std, 1.0)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def dtype_scale(dtype: np.dtype[np.generic]) -> float:
    """The ``scale`` of a pixel type: its maximum for integers, 1 for floats."""
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(str(dtype)).max)
    return 1.0
