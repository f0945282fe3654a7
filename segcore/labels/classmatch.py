"""Matching two class lists by name: a model's classes and a project's.

A model's output channel ``i`` is its class ``i``; a project's class ids are the
values in its class maps. After classes are added, reordered, renamed or
deleted the two no longer agree by id, so they are matched by name (a renamed
class keeps its old names as ``aliases``). :func:`lookup` turns a match into a
256-entry table that maps ids of one list to ids of the other, and
:class:`Relabelled` reads a label reader through such a table.

>>> from segcore.labels.schema import ClassInfo
>>> model = [ClassInfo(0, "bg", (0, 0, 0)), ClassInfo(1, "cell", (1, 1, 1))]
>>> project = [ClassInfo(0, "nucleus", (1, 1, 1), aliases=("cell",)),
...            ClassInfo(1, "bg", (0, 0, 0))]
>>> lookup(model, project)[:3].tolist()
[1, 0, 255]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.labels.reader import LabelReader, Layer
from segcore.labels.schema import UNLABELLED, ClassInfo


def names_of(info: ClassInfo) -> tuple[str, ...]:
    """Every name ``info`` answers to, its current one first (case-insensitive)."""
    return tuple(n.strip().lower() for n in (info.name, *info.aliases))


def find(info: ClassInfo, classes: Sequence[ClassInfo]) -> ClassInfo | None:
    """The class of ``classes`` that is ``info`` under any of their names, or None."""
    wanted = set(names_of(info))
    for other in classes:
        if wanted & set(names_of(other)):
            return other
    return None


def lookup(source: Sequence[ClassInfo], target: Sequence[ClassInfo]) -> NDArray[np.uint8]:
    """(256,) uint8: ids of ``source`` -> ids of the same-named ``target`` class.

    Unmatched ids (and UNLABELLED) map to UNLABELLED.
    """
    table = np.full(256, UNLABELLED, np.uint8)
    for info in source:
        match = find(info, target)
        if match is not None:
            table[info.id] = match.id
    return table


def is_identity(table: NDArray[np.uint8], classes: Sequence[ClassInfo]) -> bool:
    """True when ``table`` maps every id of ``classes`` to itself."""
    return all(int(table[c.id]) == c.id for c in classes)


class Relabelled:
    """A label reader whose class map is read through a lookup table (instances as is)."""

    def __init__(
        self, inner: LabelReader, table: NDArray[np.uint8], classes: Sequence[ClassInfo]
    ) -> None:
        self.inner = inner
        self.table = table
        self._classes = tuple(classes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def width(self) -> int:
        return self.inner.width

    @property
    def height(self) -> int:
        return self.inner.height

    @property
    def classes(self) -> Sequence[ClassInfo]:
        return self._classes

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self.inner.level_downsamples

    def level_size(self, level: int) -> tuple[int, int]:
        return self.inner.level_size(level)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> NDArray[Any]:
        out = self.inner.read(layer, x, y, w, h, level=level)
        return self.table[out] if layer == "semantic" else out
