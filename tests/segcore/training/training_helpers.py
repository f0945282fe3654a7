"""Small training set-ups shared by the training tests (imported as training_helpers)."""

from __future__ import annotations

import numpy as np

from segcore.synthetic import SCENE_CLASSES, make_scene
from segcore.training.config import TrainConfig
from segcore.training.data import TrainingData, data_from_arrays

# a 2-level U-Net (8 and 16 channels, stride 2): trains in a second on CPU
TINY = {"channels": [8, 16]}


def tiny_config(**changes: object) -> TrainConfig:
    options: dict[str, object] = {
        "arch": "small_unet",
        "arch_config": TINY,
        "epochs": 2,
        "tile": 32,
        "batch": 4,
        "tiles_per_epoch": 8,
        "threads": 1,
        "patience": None,
    }
    options.update(changes)
    return TrainConfig(**options)  # type: ignore[arg-type]


def scene_data() -> TrainingData:
    """A 96 x 96 synthetic scene with all five classes."""
    scene = make_scene(96, 96, seed=18)
    return data_from_arrays([scene.image], [scene.semantic], classes=SCENE_CLASSES)


def two_class_data(bands: int = 3, dtype: type = np.uint8) -> TrainingData:
    """Left half class 0 (dark), right half class 1 (bright), 64 x 64."""
    image = np.zeros((64, 64, bands), dtype)
    image[:, 32:] = 200
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 1
    return data_from_arrays([image], [mask], classes=["dark", "bright"])
