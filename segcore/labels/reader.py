"""What everything that reads labels reads: one image's class and instance maps, by window.

:class:`LabelReader` is the one contract. Exporters, metrics, training, the
canvas overlays and the Metrics dock all take one; the label store satisfies it,
and :mod:`segcore.labels.adapters` adapts the rest (NumPy arrays, mask images,
a reader seen through a lock or with another class list).

Conventions:

* ``read("semantic", ...)`` returns ``uint8`` class ids (255 = unlabelled),
  ``read("instance", ...)`` ``uint32`` instance ids (0 = none), shape ``(h, w)``;
* ``(x, y, w, h)`` is a window in the grid of ``level`` (level 0 is full
  resolution); pixels outside the image read as the layer's fill;
* ``level_downsamples`` and ``level_size`` describe the overviews a reader
  keeps (one level, ``(1.0,)``, when it keeps none); nothing reads a map whole.

>>> from segcore.labels.adapters import ArrayLabels
>>> labels = ArrayLabels(np.zeros((2, 3), np.uint8))
>>> labels.read("semantic", 2, 1, 2, 2).tolist()
[[0, 255], [255, 255]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo

Layer = Literal["semantic", "instance"]
LAYERS: tuple[Layer, Layer] = ("semantic", "instance")
DTYPES: dict[str, type[np.generic]] = {"semantic": np.uint8, "instance": np.uint32}
FILLS: dict[str, int] = {"semantic": UNLABELLED, "instance": NO_INSTANCE}


@runtime_checkable
class LabelReader(Protocol):
    """Window access to one image's labels (see the module docstring)."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def classes(self) -> Sequence[ClassInfo]: ...

    @property
    def level_downsamples(self) -> tuple[float, ...]: ...

    def level_size(self, level: int) -> tuple[int, int]: ...

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> NDArray[Any]:
        """Window ``(x, y, w, h)`` of ``layer`` at ``level``, shape ``(h, w)``; outside is fill."""
        ...


def crop(data: NDArray[Any], x: int, y: int, w: int, h: int, fill: float) -> NDArray[Any]:
    """Window ``(x, y, w, h)`` of a 2-D array, ``fill`` where it reaches past the edge."""
    rows, cols = data.shape[:2]
    if x >= 0 and y >= 0 and x + w <= cols and y + h <= rows:
        return data[y : y + h, x : x + w].copy()  # callers may write into what they read
    out = np.full((h, w), fill, dtype=data.dtype)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cols), min(y + h, rows)
    if x1 > x0 and y1 > y0:
        out[y0 - y : y1 - y, x0 - x : x1 - x] = data[y0:y1, x0:x1]
    return out


class OneLevel:
    """Mixin for readers that keep no overviews: one level, the image itself."""

    width: int
    height: int

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return (1.0,)

    def level_size(self, level: int) -> tuple[int, int]:
        if level != 0:
            raise ValueError(f"this label reader has only level 0, not {level}")
        return self.width, self.height
