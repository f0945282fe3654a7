"""Where the tiles go: windows to read and the output pixels each one owns.

Exact overlap-tile inference needs three things of the grid (see
``docs/arch/engine.md``):

* a halo of at least the model's receptive field on every inner tile edge,
* tile origins on multiples of the model's output stride (a strided network is
  only shift-equivariant by multiples of its stride),
* tiles that end where a whole-image pass would end, so the network's own zero
  padding sits in the same place.

A whole-image pass needs sizes that are multiples of the stride, so the
reference is the image mirror-padded up to the next multiple (a few pixels).
Edge tiles are shifted inward to end exactly there instead of being padded
further; an image smaller than a tile gets one tile of the padded image size.
Every output pixel belongs to exactly one tile's *core*; cores meet halfway
through each overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcore.errors import InferenceError


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle: columns ``x .. x + w``, rows ``y .. y + h`` (ends excluded)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def x1(self) -> int:
        return self.x + self.w

    @property
    def y1(self) -> int:
        return self.y + self.h

    @property
    def empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    def intersect(self, other: Rect) -> Rect:
        x, y = max(self.x, other.x), max(self.y, other.y)
        return Rect(x, y, max(min(self.x1, other.x1) - x, 0), max(min(self.y1, other.y1) - y, 0))


@dataclass(frozen=True)
class Tile:
    """One network input window (``read``, may reach into the mirror padding)
    and the output pixels it owns (``core``, inside the image and the ROI)."""

    row: int
    col: int
    read: Rect
    core: Rect


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one job, grouped in rows from top to bottom."""

    rows: tuple[tuple[Tile, ...], ...]
    roi: Rect
    tile_w: int
    tile_h: int
    halo: int

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.rows)

    def tiles(self) -> list[Tile]:
        return [t for row in self.rows for t in row]


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def axis_windows(
    length: int, tile: int, halo: int, stride: int
) -> tuple[int, list[int], list[tuple[int, int]]]:
    """Tile length, tile origins and owned output spans along one axis.

    >>> axis_windows(200, 64, 8, 16)
    (64, [0, 48, 96, 144], [(0, 56), (56, 104), (104, 152), (152, 200)])
    """
    padded = round_up(length, stride)
    size = min(tile, padded)
    if size >= padded:
        return size, [0], [(0, length)]
    step = _step(size, halo, stride)
    if step < stride:
        need = 2 * halo + stride
        raise InferenceError(
            f"tile {tile} is too small for halo {halo} with output stride {stride}; "
            f"use a tile of at least {round_up(need, stride)} or a smaller halo"
        )
    count = _count(padded, size, step)
    # Balance: the smallest stride-aligned tile that still needs only ``count``
    # tiles, so the last one is not mostly overlap (less compute, less memory).
    balanced = round_up(-(-(padded + (count - 1) * 2 * halo) // count), stride)
    while balanced < size and _count(padded, balanced, _step(balanced, halo, stride)) > count:
        balanced += stride  # the step rounds down to the stride: grow until it fits
    size = min(size, balanced)
    step = _step(size, halo, stride)
    last = padded - size
    origins = list(range(0, last, step)) + [last]
    cuts = [(a + b + size) // 2 for a, b in zip(origins, origins[1:], strict=False)]
    bounds = [0, *cuts, length]
    return size, origins, list(zip(bounds, bounds[1:], strict=False))


def _step(size: int, halo: int, stride: int) -> int:
    return (size - 2 * halo) // stride * stride


def _count(padded: int, size: int, step: int) -> int:
    return -(-(padded - size) // step) + 1


def plan_tiles(
    width: int,
    height: int,
    *,
    tile: int,
    halo: int,
    stride: int,
    roi: Rect | None = None,
    mask: np.ndarray | None = None,
) -> TilePlan:
    """Lay out the tiles for an image, keeping those whose core meets ``roi`` and ``mask``.

    ``tile`` is rounded down to a multiple of ``stride``. ``mask`` is a boolean
    array covering the whole image at any resolution; a tile is kept when its
    core overlaps a True pixel.
    """
    if stride < 1 or halo < 0:
        raise InferenceError(f"bad stride {stride} or halo {halo}")
    tile = tile // stride * stride
    if tile < stride:
        raise InferenceError(f"tile must be at least the output stride {stride}, got {tile}")
    image = Rect(0, 0, width, height)
    roi = image if roi is None else roi
    if roi.empty or image.intersect(roi) != roi:
        raise InferenceError(
            f"region {roi.x},{roi.y},{roi.w},{roi.h} is not inside the "
            f"{width} x {height} image; give x,y,w,h with w, h > 0 inside it"
        )
    tw, xs, xspans = axis_windows(width, tile, halo, stride)
    th, ys, yspans = axis_windows(height, tile, halo, stride)
    rows: list[tuple[Tile, ...]] = []
    for r, (oy, (cy0, cy1)) in enumerate(zip(ys, yspans, strict=True)):
        row: list[Tile] = []
        for c, (ox, (cx0, cx1)) in enumerate(zip(xs, xspans, strict=True)):
            core = Rect(cx0, cy0, cx1 - cx0, cy1 - cy0).intersect(roi)
            if core.empty or (mask is not None and not _meets(mask, core, width, height)):
                continue
            row.append(Tile(r, c, Rect(ox, oy, tw, th), core))
        if row:
            rows.append(tuple(row))
    return TilePlan(tuple(rows), roi, tw, th, halo)


def _meets(mask: np.ndarray, core: Rect, width: int, height: int) -> bool:
    """Whether ``core`` (image pixels) overlaps a True pixel of a mask of any size."""
    mh, mw = mask.shape[:2]
    y0, y1 = core.y * mh // height, -(-core.y1 * mh // height)
    x0, x1 = core.x * mw // width, -(-core.x1 * mw // width)
    return bool(mask[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)].any())


def reflect_index(coords: np.ndarray, length: int) -> np.ndarray:
    """Mirror coordinates into ``0 .. length - 1`` without repeating the edge pixel
    (NumPy's and PyTorch's "reflect"), however far outside they are.

    >>> reflect_index(np.arange(-2, 6), 4).tolist()
    [2, 1, 0, 1, 2, 3, 2, 1]
    """
    if length == 1:
        return np.zeros_like(coords)
    period = 2 * (length - 1)
    folded = np.abs(np.mod(coords, period))
    return np.asarray(np.where(folded >= length, period - folded, folded))
