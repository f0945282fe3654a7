"""Mapping an n-D array's axes onto (plane, y, x, band) for windowed reads.

TIFF series and zarr arrays store images with their axes in any order, e.g.
``TZCYX`` or ``YXS``. An :class:`AxisPlan` records which axis is y, x and
bands (if any); every other axis is flattened, in C order, into a plane index
``z``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class AxisPlan:
    """Where y, x, bands and planes sit among an array's axes."""

    def __init__(self, shape: tuple[int, ...], y: int, x: int, band: int | None) -> None:
        self.ndim = len(shape)
        self.y, self.x, self.band = y, x, band
        self.bands = int(shape[band]) if band is not None else 1
        self.plane_axes = [i for i in range(self.ndim) if i not in (y, x, band)]
        self.plane_shape = tuple(int(shape[i]) for i in self.plane_axes)
        self.depth = int(np.prod(self.plane_shape)) if self.plane_shape else 1
        kept = sorted(a for a in (y, x, band) if a is not None)
        # transpose that turns the kept axes, in stored order, into (y, x[, band])
        self.order = tuple(kept.index(a) for a in (y, x, band) if a is not None)

    def index(self, z: int, rows: slice, cols: slice) -> tuple[Any, ...]:
        """Index tuple selecting a window of plane ``z``."""
        index: list[Any] = [slice(None)] * self.ndim
        if self.plane_shape:
            picks = np.unravel_index(z, self.plane_shape)
            for axis, value in zip(self.plane_axes, picks, strict=True):
                index[axis] = int(value)
        index[self.y], index[self.x] = rows, cols
        return tuple(index)

    def read(self, array: Any, z: int, rows: slice, cols: slice) -> np.ndarray:
        """A window of plane ``z`` of ``array`` as (h, w) or (h, w, bands)."""
        data = np.asarray(array[self.index(z, rows, cols)])
        return data.transpose(self.order) if data.ndim == 3 else data
