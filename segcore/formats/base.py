"""What every exporter reads and implements, and every importer returns.

A format's exporter is a :class:`Writer`: it gets :class:`ExportOptions` and
writes each :class:`ExportItem`, reading its labels through the one label-reader
contract (:class:`segcore.labels.reader.LabelReader`), window by window, so a
20k x 20k label map never has to fit in memory.

Importers return :class:`LabelImage` objects (one per image of a dataset) and
the dataset's classes.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError
from segcore.formats.staging import Staging
from segcore.jobs import Job
from segcore.labels.reader import LabelReader
from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo

Transform = tuple[float, float, float, float, float, float]

DEFAULT_WINDOW = 2048
CLASS_FILE = "classes.json"


@dataclass(frozen=True)
class ExportItem:
    """One image to export: its labels and what the formats need to know about it.

    ``name`` is the file stem used for outputs (``name.png``, ``name.json``);
    ``image_file`` is the image's file name as datasets reference it;
    ``crs`` (WKT or ``EPSG:n``) and ``transform`` (affine a, b, c, d, e, f)
    georeference GeoTIFF and vector outputs; ``source`` is the image file
    itself, which label-volume formats read their voxel grid from.
    """

    name: str
    labels: LabelReader
    image_file: str = ""
    crs: str | None = None
    transform: Transform | None = None
    source: Path | None = None

    @property
    def file_name(self) -> str:
        return self.image_file or f"{self.name}.png"


@dataclass
class LabelImage:
    """Labels of one imported image."""

    name: str
    classes: NDArray[np.uint8]
    instances: NDArray[np.uint32]

    @staticmethod
    def empty(name: str, height: int, width: int) -> LabelImage:
        return LabelImage(
            name,
            np.full((height, width), UNLABELLED, np.uint8),
            np.full((height, width), NO_INSTANCE, np.uint32),
        )


@dataclass
class Imported:
    """A whole imported dataset: classes as the files name them, and every image."""

    classes: list[ClassInfo]
    images: list[LabelImage]


def safe_stem(name: str) -> str:
    """``name`` usable as a file stem (no folders, no separators)."""
    stem = Path(name).name
    if not stem or stem in {".", ".."}:
        raise FormatError(f"{name!r} cannot be used as an output file name")
    return stem


@dataclass(frozen=True)
class ExportOptions:
    """Options shared by all formats.

    ``window`` is the side of the square window (or the pixel count of a strip,
    ``window**2``) read at a time: memory grows with it, not with the image.
    ``simplify`` is the Douglas-Peucker tolerance in pixels for polygon formats
    (0 keeps every vertex of the pixel outline).
    """

    window: int = DEFAULT_WINDOW
    simplify: float = 0.0

    def strip_rows(self, width: int) -> int:
        return max(1, self.window * self.window // max(width, 1))


class Writer(ABC):
    """One export format. ``add`` writes one image; ``finish`` writes dataset-wide files."""

    def __init__(self, options: ExportOptions) -> None:
        self.options = options
        self.classes: list[ClassInfo] | None = None

    def check_classes(self, item: ExportItem) -> list[ClassInfo]:
        """The export's class list; every image must share it."""
        classes = list(item.labels.classes)
        if self.classes is None:
            self.classes = classes
        elif classes != self.classes:
            raise FormatError(
                f"{item.name}: its classes differ from the first image's; "
                "export images with different class lists separately"
            )
        return classes

    @abstractmethod
    def outputs(self, item: ExportItem) -> list[str]:
        """The files ``add`` writes for ``item``, relative to the output folder.

        The exporter checks every image's names before any image is written.
        """

    def dataset_outputs(self) -> list[str]:
        """The files ``finish`` writes, relative to the output folder."""
        return [CLASS_FILE]

    @abstractmethod
    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        """Write ``item``'s files (named by :meth:`outputs`), yielding progress in pixels."""

    def finish(self, staging: Staging) -> None:
        """Write files that cover the whole export (named by :meth:`dataset_outputs`)."""
        write_class_file(staging, self.classes)


def write_class_file(staging: Staging, classes: list[ClassInfo] | None) -> None:
    """``classes.json``: the class list, for formats that carry no class names."""
    if classes is None:
        return
    path = staging.path(CLASS_FILE)
    text = json.dumps({"classes": [c.to_json() for c in classes]}, indent=1)
    path.write_text(text, encoding="utf-8")
