"""A project's images as the image list shows them, and reading an image's size."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from segcore.errors import ProjectError, TesseraError

ImageState = Literal["ok", "missing"]


@dataclass(frozen=True)
class ImageEntry:
    """An image of the project as the image list shows it."""

    id: str
    path: Path  # absolute, resolved against the project folder
    relpath: str  # as stored in project.json
    width: int
    height: int
    labelled_fraction: float  # 0..1
    depth: int = 1  # slices of a volume with a label volume
    labelled_slices: int = 0  # slices holding any label (volumes)

    @property
    def slices_text(self) -> str:
        """ "12 of 189 slices labelled" for a volume, "" for a 2-D image."""
        return f"{self.labelled_slices} of {self.depth} slices labelled" if self.depth > 1 else ""

    @property
    def state(self) -> ImageState:
        """ "missing" when the file is not where the project says; ask the user to relocate."""
        return "ok" if self.path.exists() else "missing"

    @property
    def missing(self) -> bool:
        return self.state == "missing"


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with '/' separators (absolute if on another drive)."""
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:
        return path.as_posix()


def image_size(path: Path, *, required: bool) -> tuple[int, int] | None:
    """(width, height) read with segcore.io.open_image; None if no reader and not required."""
    shape = image_shape(path, required=required)
    return None if shape is None else shape[:2]


def image_shape(path: Path, *, required: bool) -> tuple[int, int, int] | None:
    """(width, height, depth) read with segcore.io.open_image; None if no reader and not
    required. ``depth`` is the number of slices of a volume (1 for a 2-D image)."""
    import segcore.io as io

    opener = getattr(io, "open_image", None)
    if opener is None:
        if not required:
            return None
        raise ProjectError(
            f"cannot read the size of {path}: no image reader is installed; pass width and height"
        )
    try:
        source = opener(path)
    except TesseraError as exc:
        raise ProjectError(f"cannot use {path} as an image: {exc}") from exc
    try:
        return int(source.width), int(source.height), int(source.depth)
    finally:
        source.close()
