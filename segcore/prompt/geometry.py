"""Windows of pyramid levels and the coordinate maps between level 0, level, window
and encoder input.

All positions are continuous with pixel centres on integers (segcore's and
SAM's convention). A level's scale is measured from its size
(``fx = width / level_width``), so levels whose downsample is not a power
of two map exactly too:

* level 0 -> level: ``xl = (x0 + 0.5) / fx - 0.5``
* level -> window: ``u = xl - window.x``
* window -> encoder input: ``ex = (u + 0.5) * scale - 0.5``, where ``scale``
  is 1 for a full window and ``S / max(w, h)`` for a level smaller than the
  input (resized up, as SAM resizes the longest side).
* encoder input -> embedding cell: ``floor((ex + 0.5) / (S / E))``.

Windows lie on a grid of half a window (so revisits and precomputed windows
share cache entries); a window at a level's far edge is moved inward to end
at the edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from segcore.errors import LabelError
from segcore.labels.box import Box

BORDER = 0.125  # a prompt closer than this fraction of a window to an inner edge recentres


@dataclass(frozen=True)
class Levels:
    """Level sizes of one image: ``sizes[k] = (width, height)`` of level k."""

    sizes: tuple[tuple[int, int], ...]

    @property
    def width(self) -> int:
        return self.sizes[0][0]

    @property
    def height(self) -> int:
        return self.sizes[0][1]

    def factors(self, level: int) -> tuple[float, float]:
        """Level-0 pixels per pixel of ``level`` along x and y."""
        w, h = self.sizes[level]
        return self.width / w, self.height / h


@dataclass(frozen=True)
class Window:
    """A square-at-most window of one level, as the encoder sees it."""

    level: int
    x: int
    y: int
    w: int
    h: int
    size: int  # encoder input side S
    fx: float  # level-0 pixels per level pixel
    fy: float

    @property
    def scale(self) -> float:
        """Encoder pixels per window pixel."""
        return self.size / max(self.w, self.h)

    @property
    def key(self) -> str:
        return f"L{self.level}_x{self.x}_y{self.y}_{self.w}x{self.h}_s{self.size}"

    def to_input(self, x0: float, y0: float) -> tuple[float, float]:
        """Level-0 position -> encoder-input position."""
        u = (x0 + 0.5) / self.fx - 0.5 - self.x
        v = (y0 + 0.5) / self.fy - 0.5 - self.y
        return (u + 0.5) * self.scale - 0.5, (v + 0.5) * self.scale - 0.5

    def from_input(self, ex: float, ey: float) -> tuple[float, float]:
        """Encoder-input position -> level-0 position (inverse of :meth:`to_input`)."""
        u = (ex + 0.5) / self.scale - 0.5 + self.x
        v = (ey + 0.5) / self.scale - 0.5 + self.y
        return (u + 0.5) * self.fx - 0.5, (v + 0.5) * self.fy - 0.5

    def cell(self, x0: float, y0: float, side: int) -> tuple[int, int]:
        """(col, row) of the embedding cell (``side`` x ``side`` grid) under a level-0 position."""
        ex, ey = self.to_input(x0, y0)
        step = self.size / side
        return math.floor((ex + 0.5) / step), math.floor((ey + 0.5) / step)

    def level0_box(self) -> Box:
        """The level-0 pixels this window covers (rounded outward)."""
        x0, y0 = math.floor(self.x * self.fx), math.floor(self.y * self.fy)
        x1, y1 = math.ceil((self.x + self.w) * self.fx), math.ceil((self.y + self.h) * self.fy)
        return Box.from_bounds(x0, y0, x1, y1)

    def contains(self, x0: float, y0: float) -> bool:
        ex, ey = self.to_input(x0, y0)
        return -0.5 <= ex < self.w * self.scale - 0.5 and -0.5 <= ey < self.h * self.scale - 0.5

    def near_inner_edge(self, x0: float, y0: float, levels: Levels) -> bool:
        """Whether a position is outside, or within :data:`BORDER` of an edge that is not
        the level's own edge (where a re-centred window would see more around it)."""
        if not self.contains(x0, y0):
            return True
        lw, lh = levels.sizes[self.level]
        u = (x0 + 0.5) / self.fx - 0.5 - self.x
        v = (y0 + 0.5) / self.fy - 0.5 - self.y
        m = BORDER * max(self.w, self.h)
        return (
            (u < m and self.x > 0)
            or (v < m and self.y > 0)
            or (u > self.w - m and self.x + self.w < lw)
            or (v > self.h - m and self.y + self.h < lh)
        )


def choose_level(levels: Levels, view: Box, size: int) -> int:
    """The finest level at which ``view`` (level-0 box) fits in one ``size`` window.

    Falls back to the coarsest level when none does.
    """
    need = max(view.w, view.h) / size
    for level in range(len(levels.sizes)):
        fx, fy = levels.factors(level)
        if min(fx, fy) >= need * (1 - 1e-9):
            return level
    return len(levels.sizes) - 1


def _origin(centre: float, extent: int, size: int) -> int:
    """Grid origin (half-window steps) of the window nearest to centred on ``centre``."""
    if extent <= size:
        return 0
    step = size // 2
    origin = round((centre - size / 2) / step) * step
    return int(min(max(origin, 0), extent - size))


def window_at(levels: Levels, level: int, x0: float, y0: float, size: int) -> Window:
    """The grid window of ``level`` whose centre is nearest to level-0 position (x0, y0)."""
    if not 0 <= level < len(levels.sizes):
        raise LabelError(f"level {level} does not exist (the image has {len(levels.sizes)})")
    lw, lh = levels.sizes[level]
    fx, fy = levels.factors(level)
    cx, cy = (x0 + 0.5) / fx - 0.5, (y0 + 0.5) / fy - 0.5
    w, h = min(size, lw), min(size, lh)
    return Window(level, _origin(cx, lw, size), _origin(cy, lh, size), w, h, size, fx, fy)


def grid(levels: Levels, level: int, size: int, region: Box | None = None) -> list[Window]:
    """Every grid window of ``level`` (overlapping by half) meeting ``region`` (level 0)."""
    lw, lh = levels.sizes[level]
    fx, fy = levels.factors(level)

    def origins(extent: int, lo: float, hi: float) -> list[int]:
        if extent <= size:
            return [0]
        step = size // 2
        found = sorted({min(o, extent - size) for o in range(0, extent, step)})
        return [o for o in found if o + size > lo and o < hi]

    r = region or Box(0, 0, levels.width, levels.height)
    xs = origins(lw, r.x / fx, r.x1 / fx)
    ys = origins(lh, r.y / fy, r.y1 / fy)
    w, h = min(size, lw), min(size, lh)
    return [Window(level, x, y, w, h, size, fx, fy) for y in ys for x in xs]


def check_inside(levels: Levels, points: Sequence[tuple[float, float]]) -> None:
    """A prompt outside the image is refused, naming it."""
    for x, y in points:
        if not (-0.5 <= x < levels.width - 0.5 and -0.5 <= y < levels.height - 0.5):
            raise LabelError(
                f"prompt ({x:g}, {y:g}) lies outside the image "
                f"({levels.width}x{levels.height}); click inside it"
            )
