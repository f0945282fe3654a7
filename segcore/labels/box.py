"""Axis-aligned pixel boxes: what every edit returns, every window read takes and
every tile covers (the engine's tiles and cores are boxes too).

A box unpacks like the ``(x, y, w, h)`` tuple it stands for:

>>> x, y, w, h = Box(1, 2, 3, 4)
>>> [tuple(b) for b in windows(5, 3, 4)]
[(0, 0, 4, 3), (4, 0, 1, 3)]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """A window of pixels: columns ``x .. x+w-1``, rows ``y .. y+h-1``.

    An empty box has ``w == 0`` or ``h == 0``; edits that change nothing return one.
    """

    x: int
    y: int
    w: int
    h: int

    def __iter__(self) -> Iterator[int]:
        return iter((self.x, self.y, self.w, self.h))

    @staticmethod
    def empty() -> Box:
        return Box(0, 0, 0, 0)

    @staticmethod
    def from_bounds(x0: int, y0: int, x1: int, y1: int) -> Box:
        """Box covering ``[x0, x1) x [y0, y1)`` (empty when inverted)."""
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    @property
    def x1(self) -> int:
        return self.x + self.w

    @property
    def y1(self) -> int:
        return self.y + self.h

    @property
    def is_empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    @property
    def area(self) -> int:
        return 0 if self.is_empty else self.w * self.h

    def union(self, other: Box) -> Box:
        if self.is_empty:
            return other
        if other.is_empty:
            return self
        return Box.from_bounds(
            min(self.x, other.x),
            min(self.y, other.y),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )

    def intersect(self, other: Box) -> Box:
        b = Box.from_bounds(
            max(self.x, other.x),
            max(self.y, other.y),
            min(self.x1, other.x1),
            min(self.y1, other.y1),
        )
        return Box.empty() if b.is_empty else b

    def clip(self, width: int, height: int) -> Box:
        """This box inside an image of ``width x height``."""
        return self.intersect(Box(0, 0, width, height))

    def pad(self, margin: int) -> Box:
        return Box(self.x - margin, self.y - margin, self.w + 2 * margin, self.h + 2 * margin)

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x1 and self.y <= y < self.y1

    def slices(self, origin: Box | None = None) -> tuple[slice, slice]:
        """(rows, cols) slices of this box inside an array whose top-left is ``origin``."""
        ox, oy = (origin.x, origin.y) if origin is not None else (0, 0)
        return slice(self.y - oy, self.y1 - oy), slice(self.x - ox, self.x1 - ox)

    def chunks(self, chunk: int) -> Iterator[tuple[int, int]]:
        """(cy, cx) indices of the ``chunk x chunk`` grid cells this box touches."""
        if self.is_empty:
            return
        for cy in range(self.y // chunk, (self.y1 - 1) // chunk + 1):
            for cx in range(self.x // chunk, (self.x1 - 1) // chunk + 1):
                yield cy, cx


def union_all(boxes: Iterable[Box]) -> Box:
    """The smallest box holding every box (empty if none)."""
    out = Box.empty()
    for b in boxes:
        out = out.union(b)
    return out


def chunk_box(cy: int, cx: int, chunk: int, width: int, height: int) -> Box:
    """Grid cell ``(cy, cx)`` clipped to the image."""
    return Box(cx * chunk, cy * chunk, chunk, chunk).clip(width, height)


def windows(width: int, height: int, size: int) -> Iterator[Box]:
    """Boxes of at most ``size`` x ``size`` covering a ``width x height`` image, row by row."""
    for y in range(0, height, size):
        for x in range(0, width, size):
            yield Box(x, y, min(size, width - x), min(size, height - y))


def strips(width: int, height: int, rows: int) -> Iterator[Box]:
    """Full-width strips of at most ``rows`` rows, top to bottom."""
    for y in range(0, height, rows):
        yield Box(0, y, width, min(rows, height - y))
