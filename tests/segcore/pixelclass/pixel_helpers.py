"""Helpers of the pixel-classifier tests (imported as ``pixel_helpers``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcore.jobs import run_to_end
from segcore.labels.schema import UNLABELLED, ClassInfo
from segcore.pixelclass.features import FeatureSpec
from segcore.pixelclass.train import PixelConfig, PixelResult, train_pixel_classifier
from segcore.synthetic import SCENE_CLASSES, make_scene
from segcore.training.data import data_from_arrays

SMALL = PixelConfig(features=FeatureSpec(sigmas=(1.0, 2.5)), trees=8, per_class=400)


def scribbles(semantic: np.ndarray, every: int = 9) -> np.ndarray:
    """Every ``every``-th row of the true map labelled, the rest unlabelled."""
    labels = np.full(semantic.shape, UNLABELLED, np.uint8)
    labels[::every] = semantic[::every]
    return labels


@dataclass(frozen=True)
class Trained:
    image: np.ndarray
    truth: np.ndarray
    result: PixelResult
    path: Path
    classes: tuple[ClassInfo, ...]


def train_scene(folder: Path) -> Trained:
    """A small classifier trained on scribbles of a 150 x 130 scene, saved in ``folder``."""
    scene = make_scene(150, 130, seed=7)
    data = data_from_arrays([scene.image], [scribbles(scene.semantic)], classes=SCENE_CLASSES)
    path = folder / "scene.onnx"
    config = PixelConfig(
        features=SMALL.features, trees=SMALL.trees, per_class=SMALL.per_class, output=path
    )
    result = run_to_end(train_pixel_classifier(config, data=data))
    data.close()
    return Trained(scene.image, scene.semantic, result, path, SCENE_CLASSES)
