"""What every exporter reads and every importer returns.

Exporters read labels through :class:`LabelReader`, window by window, so a
20k x 20k label map never has to fit in memory. The label store satisfies the
protocol; :class:`ArrayLabels` adapts two NumPy arrays (tests, small images).

Importers return :class:`LabelImage` objects (one per image of a dataset) and
the dataset's classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError
from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo

Layer = Literal["semantic", "instance"]
Transform = tuple[float, float, float, float, float, float]

DEFAULT_WINDOW = 2048


@runtime_checkable
class LabelReader(Protocol):
    """Read access to one image's labels.

    ``read("semantic", ...)`` returns a ``uint8`` window (255 = unlabelled),
    ``read("instance", ...)`` a ``uint32`` window (0 = no instance), both of
    shape ``(h, w)``. Windows never reach past the image edge.
    """

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def classes(self) -> list[ClassInfo]: ...

    def read(self, layer: Layer, x: int, y: int, w: int, h: int) -> NDArray[Any]: ...


class ArrayLabels:
    """A :class:`LabelReader` over in-memory arrays.

    Parameters
    ----------
    classes_map
        ``(h, w)`` uint8 class ids, 255 = unlabelled.
    classes
        The class list (ids, names, colours, thing flags).
    instances
        Optional ``(h, w)`` uint32 instance ids, 0 = none; zeros when omitted.
    """

    def __init__(
        self,
        classes_map: NDArray[np.generic],
        classes: Sequence[ClassInfo],
        instances: NDArray[np.generic] | None = None,
    ) -> None:
        if classes_map.ndim != 2:
            raise FormatError(f"class map must be 2-D, got shape {classes_map.shape}")
        if instances is not None and instances.shape != classes_map.shape:
            raise FormatError(
                f"instance map shape {instances.shape} differs from class map "
                f"shape {classes_map.shape}"
            )
        self._classes_map = classes_map.astype(np.uint8, copy=False)
        self._instances = None if instances is None else instances.astype(np.uint32, copy=False)
        self._classes = list(classes)

    @property
    def width(self) -> int:
        return int(self._classes_map.shape[1])

    @property
    def height(self) -> int:
        return int(self._classes_map.shape[0])

    @property
    def classes(self) -> list[ClassInfo]:
        return list(self._classes)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int) -> NDArray[Any]:
        if layer == "semantic":
            return self._classes_map[y : y + h, x : x + w]
        if self._instances is None:
            return np.zeros((min(h, self.height - y), min(w, self.width - x)), np.uint32)
        return self._instances[y : y + h, x : x + w]


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


def windows(width: int, height: int, size: int) -> Iterator[tuple[int, int, int, int]]:
    """Tiles ``(x, y, w, h)`` of at most ``size`` x ``size`` covering the image, row-major."""
    for y in range(0, height, size):
        for x in range(0, width, size):
            yield x, y, min(size, width - x), min(size, height - y)


def strips(width: int, height: int, rows: int) -> Iterator[tuple[int, int, int, int]]:
    """Full-width strips ``(0, y, width, h)`` of at most ``rows`` rows, top to bottom."""
    for y in range(0, height, rows):
        yield 0, y, width, min(rows, height - y)


def class_by_id(classes: Sequence[ClassInfo]) -> dict[int, ClassInfo]:
    return {c.id: c for c in classes}


def safe_stem(name: str) -> str:
    """``name`` usable as a file stem (no folders, no separators)."""
    stem = Path(name).name
    if not stem or stem in {".", ".."}:
        raise FormatError(f"{name!r} cannot be used as an output file name")
    return stem
