"""Training data for instance models: images with instance-id masks (each object its id).

A project's label store already gives an ``"instance"`` layer
(:func:`segcore.training.data.data_from_project`); here are the other two
sources: arrays, and folders of images with instance masks of the same name
(the StarDist / cellpose convention: 0 = background, 1..n = objects, any
integer type). Their class map is "object" wherever an id is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import TesseraError, TrainingError
from segcore.io.array import ArraySource
from segcore.io.source import ImageSource
from segcore.labels.adapters import ArrayLabels
from segcore.labels.reader import FILLS, Layer, OneLevel
from segcore.labels.schema import ClassInfo, default_color
from segcore.training.data import LabelledImage, TrainingData, mask_pairs

OBJECT_CLASSES = (
    ClassInfo(0, "background", default_color(0), False),
    ClassInfo(1, "object", default_color(1), True),
)


class ObjectMaskLabels(OneLevel):
    """Instance ids from band 0 of a mask image; class 1 where an id is set, else 0."""

    def __init__(self, mask: ImageSource, classes: Sequence[ClassInfo] = OBJECT_CLASSES) -> None:
        if not np.issubdtype(mask.dtype, np.integer):
            raise TrainingError(
                f"{mask.path}: an instance mask holds integer ids, not {mask.dtype} values"
            )
        self.mask = mask
        self.width, self.height = mask.width, mask.height
        self.classes: tuple[ClassInfo, ...] = tuple(classes)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> NDArray[Any]:
        self.level_size(level)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        out = np.full((h, w), FILLS[layer], np.uint8 if layer == "semantic" else np.uint32)
        if x1 <= x0 or y1 <= y0:
            return out
        ids = np.asarray(self.mask.read_region(0, x0, y0, x1 - x0, y1 - y0)[..., 0])
        if (ids < 0).any():
            raise TrainingError(f"{self.mask.path}: instance ids must be >= 0")
        values = (ids > 0).astype(np.uint8) if layer == "semantic" else ids.astype(np.uint32)
        out[y0 - y : y1 - y, x0 - x : x1 - x] = values
        return out


def data_from_instance_arrays(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    classes: Sequence[ClassInfo] = OBJECT_CLASSES,
) -> TrainingData:
    """Training data from in-memory images and instance-id maps of the same size."""
    if len(images) != len(masks):
        raise TrainingError(f"got {len(images)} images but {len(masks)} instance masks")
    items = []
    for i, (image, ids) in enumerate(zip(images, masks, strict=True)):
        if image.shape[:2] != ids.shape:
            raise TrainingError(
                f"image {i} is {image.shape[1]}x{image.shape[0]} but its instance mask is "
                f"{ids.shape[1]}x{ids.shape[0]}; they must match pixel for pixel"
            )
        labels = ArrayLabels((ids > 0).astype(np.uint8), classes, instances=ids)
        items.append(LabelledImage(f"image {i}", ArraySource(image, name=f"image {i}"), labels))
    return TrainingData(tuple(items), tuple(classes))


def data_from_instance_masks(images_dir: str | Path, masks_dir: str | Path) -> TrainingData:
    """Pairs ``images/NAME.ext`` with the instance mask ``masks/NAME.*``."""
    from segcore.io import open_image

    pairs = mask_pairs(Path(images_dir), Path(masks_dir), "an instance mask", "masks/a.tif")
    items: list[LabelledImage] = []
    try:
        for image_path, mask_path in pairs:
            image = open_image(image_path)
            try:
                mask = open_image(mask_path)
            except TesseraError:
                image.close()
                raise
            items.append(LabelledImage(image_path.name, image, ObjectMaskLabels(mask), (),
                                       mask.close))  # fmt: skip
            if (mask.width, mask.height) != (image.width, image.height):
                raise TrainingError(
                    f"{mask_path}: mask is {mask.width}x{mask.height} but {image_path.name} is "
                    f"{image.width}x{image.height}; they must match pixel for pixel"
                )
    except TesseraError:
        TrainingData(tuple(items)).close()
        raise
    return TrainingData(tuple(items), OBJECT_CLASSES, from_mask_files=True)
