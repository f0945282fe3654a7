"""Where a project keeps model predictions of its images, and which images it has.

``tessera infer --project DIR`` writes one zarr class map per image to
``DIR/predictions/<image id>.zarr``; the app shows it as the prediction layer
when that image is opened. Listing the images reads ``project.json`` only:
nothing is written, no lock is taken, so it works while the app has it open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segcore.labels.schema import ClassInfo
from segcore.project import manifest
from segcore.project.manifest import FILE_NAME

FOLDER = "predictions"


def prediction_path(root: str | Path, image_id: str) -> Path:
    """The prediction store of image ``image_id`` of the project at ``root``."""
    return Path(root) / FOLDER / f"{image_id}.zarr"


def project_images(root: str | Path) -> list[tuple[str, Path]]:
    """(image id, absolute image path) of every image of the project, in project order."""
    base = Path(root).absolute()
    data = manifest.load(base / FILE_NAME)
    return [(rec.id, Path(os.path.normpath(base / rec.path))) for rec in data.images]


@dataclass(frozen=True)
class StoredPrediction:
    """A prediction read back for the app: its classes and the class map in blocks."""

    classes: tuple[ClassInfo, ...]
    width: int
    height: int
    blocks: tuple[tuple[int, int, np.ndarray], ...]  # (x, y, uint8 class ids)


def read_prediction(
    root: str | Path, image_id: str, *, block: int = 1024
) -> StoredPrediction | None:
    """The stored prediction of ``image_id``, or None when there is none (or it is unreadable:
    a prediction can always be made again)."""
    path = prediction_path(root, image_id)
    if not path.is_dir():
        return None
    import zarr

    try:
        array = zarr.open_array(str(path), mode="r")
        listed: Any = array.attrs.get("classes") or []
        classes = tuple(ClassInfo.from_json(c) for c in listed)
        height, width = (int(v) for v in array.shape)
        blocks = tuple(
            (x, y, np.asarray(array[y : y + block, x : x + block], np.uint8))
            for y in range(0, height, block)
            for x in range(0, width, block)
        )
    except Exception:
        return None
    return StoredPrediction(classes, width, height, blocks)
