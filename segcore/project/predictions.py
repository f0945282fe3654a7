"""Where a project keeps model predictions of its images, and which images it has.

``tessera infer --project DIR`` writes one zarr class map per image to
``DIR/predictions/<image id>.zarr``; the app shows it as the prediction layer
when that image is opened. Listing the images reads ``project.json`` only:
nothing is written, no lock is taken, so it works while the app has it open.
"""

from __future__ import annotations

import os
from pathlib import Path

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
