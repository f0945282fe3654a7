"""Planes of a label volume: one slice of a 3-D zarr array seen as a 2-D array.

A label volume stores each layer and level as one ``(depth, height, width)``
zarr array chunked ``(1, chunk, chunk)``, so painting on a slice reads and
writes that slice's chunk files only. The write-back cache and the overviews
work on 2-D arrays; :class:`PlaneArray` gives them slice ``z`` under the name
``<array>@<z>`` (see :func:`plane_name`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def plane_name(name: str, z: int | None) -> str:
    """Cache name of plane ``z`` of array ``name`` (``name`` itself for a 2-D store).

    >>> plane_name("semantic/0", 3), plane_name("semantic/0", None)
    ('semantic/0@3', 'semantic/0')
    """
    return name if z is None else f"{name}@{z}"


def split_name(name: str) -> tuple[str, int | None]:
    """Inverse of :func:`plane_name`.

    >>> split_name("instance/1@12"), split_name("semantic/0")
    (('instance/1', 12), ('semantic/0', None))
    """
    array, _, z = name.partition("@")
    return array, (int(z) if z else None)


class PlaneArray:
    """Slice ``z`` of a 3-D zarr array, sliced and assigned like a 2-D one."""

    def __init__(self, array: Any, z: int) -> None:
        self._array = array
        self._z = z
        self.shape = (int(array.shape[1]), int(array.shape[2]))
        self.dtype = array.dtype
        self.fill_value = array.fill_value

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = key
        return np.asarray(self._array[self._z, rows, cols])

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        rows, cols = key
        self._array[self._z, rows, cols] = value
