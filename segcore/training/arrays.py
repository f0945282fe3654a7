"""One call to train on in-memory arrays (scripts, notebooks, the bundled-model script).

>>> from segcore.synthetic import make_scene, SCENE_CLASSES
>>> scene = make_scene(256, 256, seed=18)
>>> result = train_on_arrays(scene.image, scene.semantic, classes=SCENE_CLASSES,
...                          epochs=2, tile=64)  # doctest: +SKIP
>>> result.best_miou  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from segcore.jobs import Progress, run_to_end
from segcore.labels.schema import ClassInfo
from segcore.training.config import TrainConfig, TrainResult
from segcore.training.data import data_from_arrays


def train_on_arrays(
    image: np.ndarray | Sequence[np.ndarray],
    mask: np.ndarray | Sequence[np.ndarray],
    *,
    classes: Sequence[ClassInfo] | Sequence[str],
    arch: str = "small_unet",
    encoder: str | None = None,
    model: Any = None,
    output: str | Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    **options: Any,
) -> TrainResult:
    """Train (or fine-tune ``model``) on one or more images and class maps.

    Parameters
    ----------
    image, mask
        An (h, w[, bands]) image and its (h, w) class map (255 = unlabelled), or
        lists of them.
    classes
        Class names or ``ClassInfo`` entries, ids 0..n-1.
    arch, encoder
        Architecture for a new model (ignored when fine-tuning ``model``).
    output
        Where to save the best model (``.safetensors``); None keeps it in memory.
    options
        Any other :class:`TrainConfig` field, e.g. ``epochs=20, tile=128, seed=1``.
    """
    from segcore.training.loop import train

    images = [image] if isinstance(image, np.ndarray) else list(image)
    masks = [mask] if isinstance(mask, np.ndarray) else list(mask)
    config = TrainConfig(
        arch=arch,
        encoder=encoder,
        output=Path(output) if output is not None else None,
        **options,
    )
    data = data_from_arrays(images, masks, classes=classes)
    return run_to_end(train(config, data=data, model=model), on_progress)
