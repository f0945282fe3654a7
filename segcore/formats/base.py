"""What every exporter reads and every importer returns.

Exporters read an :class:`ExportItem`'s labels through the one label-reader
contract (:class:`segcore.labels.reader.LabelReader`), window by window, so a
20k x 20k label map never has to fit in memory.

Importers return :class:`LabelImage` objects (one per image of a dataset) and
the dataset's classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError
from segcore.labels.reader import LabelReader
from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo

Transform = tuple[float, float, float, float, float, float]

DEFAULT_WINDOW = 2048


@dataclass(frozen=True)
class ExportItem:
    """One image to export: its labels and what the formats need to know about it.

    ``name`` is the file stem used for outputs (``name.png``, ``name.json``);
    ``image_file`` is the image's file name as datasets reference it;
    ``crs`` (WKT or ``EPSG:n``) and ``transform`` (affine a, b, c, d, e, f)
    georeference GeoTIFF and vector outputs.
    """

    name: str
    labels: LabelReader
    image_file: str = ""
    crs: str | None = None
    transform: Transform | None = None

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
