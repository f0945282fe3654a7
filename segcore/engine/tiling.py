"""Where the tiles go: one pure function decides a job's tile plan, once.

:func:`tile_plan` takes the image size, what the model needs (receptive field,
output stride, its tile size), the mode, the options and whether the runner
works in strips, and returns a frozen :class:`TilePlan`; nothing downstream
plans again. The size policy (the constants below) and the grid arithmetic
live here together.

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
from typing import TYPE_CHECKING, Literal

import numpy as np

from segcore.errors import InferenceError
from segcore.labels.box import Box

if TYPE_CHECKING:
    from segcore.engine.options import InferOptions
    from segcore.models.meta import ModelMeta

TILE_PER_HALO = 8  # default exact tile >= 8 x halo: the halo then costs < 2x compute
MIN_DEFAULT_TILE = 1024  # per-tile overheads dominate below this
MAX_DEFAULT_TILE = 1536  # memory: an smp U-Net tile of 1440 px (8k image) peaks ~0.9 GB here
MAX_STRIP_TILE = 2560  # in strips (~120 B/px): a 2560 px tile alone peaks ~1.1 GB here

Mode = Literal["exact", "blend"]


@dataclass(frozen=True)
class Tile:
    """One network input window (``read``, may reach into the mirror padding)
    and the output pixels it owns (``core``, inside the image and the ROI)."""

    row: int
    col: int
    read: Box
    core: Box


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one job, grouped in rows from top to bottom."""

    rows: tuple[tuple[Tile, ...], ...]
    roi: Box
    tile_w: int
    tile_h: int
    halo: int

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.rows)

    def tiles(self) -> list[Tile]:
        return [t for row in self.rows for t in row]


def tile_plan(
    width: int,
    height: int,
    *,
    meta: ModelMeta,
    mode: Mode,
    options: InferOptions,
    in_strips: bool = False,
) -> TilePlan:
    """The tile plan of a job: tile and halo by the size policy, then the grid.

    In exact mode the halo is the model's receptive field and the tile is
    ``max(model tile, TILE_PER_HALO x halo, MIN_DEFAULT_TILE)``, at most
    ``MAX_DEFAULT_TILE`` (``MAX_STRIP_TILE`` for a runner in strips, which needs
    less memory per pixel); in blend mode the model's tile and a halo of tile / 8.
    ``options.tile`` / ``options.halo`` override; ``options.roi`` and
    ``options.mask`` keep only the tiles whose core they meet.
    """
    stride = max(meta.output_stride, 1)
    tile, halo = tile_and_halo(meta, mode, options, stride, in_strips=in_strips)
    return plan_tiles(
        width,
        height,
        tile=tile,
        halo=halo,
        stride=stride,
        roi=None if options.roi is None else Box(*options.roi),
        mask=options.mask,
    )


def check_request(
    width: int, height: int, *, meta: ModelMeta, mode: Mode, options: InferOptions
) -> None:
    """Raise the error :func:`tile_plan` would raise for this request, without planning.

    What is checked does not depend on the runner: a default tile always fits
    its halo, and a given tile, halo or region is used as given.
    """
    stride = max(meta.output_stride, 1)
    tile, halo = tile_and_halo(meta, mode, options, stride, in_strips=False)
    _check_grid(tile, halo, stride)
    if options.roi is not None:
        _check_roi(Box(*options.roi), width, height)
    tile = tile // stride * stride
    if tile < max(round_up(width, stride), round_up(height, stride)):
        _check_step(tile, halo, stride)


def tile_and_halo(
    meta: ModelMeta, mode: Mode, options: InferOptions, stride: int, *, in_strips: bool
) -> tuple[int, int]:
    """(tile, halo) in pixels, by the size policy above."""
    if options.halo is not None and options.halo < 0:
        raise InferenceError(f"halo must be >= 0, got {options.halo}")
    if options.tile is not None and options.tile < stride:
        raise InferenceError(f"tile must be at least the model's stride {stride}")
    if mode == "exact":
        if meta.receptive_field is None:
            raise InferenceError(f"model {meta.arch} has no measured receptive field")
        halo = meta.receptive_field if options.halo is None else options.halo
        cap = MAX_STRIP_TILE if in_strips else MAX_DEFAULT_TILE
        # A model may name the largest tile it runs in bounded memory (the pixel
        # classifier: its features take ~8 bytes per feature per pixel).
        cap = min(cap, int(meta.extra.get("max_tile") or cap))
        auto_tile = max(meta.tile_size, TILE_PER_HALO * halo, MIN_DEFAULT_TILE)
        auto_tile = min(auto_tile, cap)
        auto_tile = max(auto_tile, 2 * halo + 2 * stride)
        tile = options.tile or round_up(auto_tile, stride)
    else:
        tile = options.tile or round_up(meta.tile_size, stride)
        halo = tile // 8 if options.halo is None else options.halo
    return tile, halo


def plan_tiles(
    width: int,
    height: int,
    *,
    tile: int,
    halo: int,
    stride: int,
    roi: Box | None = None,
    mask: np.ndarray | None = None,
) -> TilePlan:
    """Lay out the tiles for an image, keeping those whose core meets ``roi`` and ``mask``.

    ``tile`` is rounded down to a multiple of ``stride``. ``mask`` is a boolean
    array covering the whole image at any resolution; a tile is kept when its
    core overlaps a True pixel.
    """
    _check_grid(tile, halo, stride)
    tile = tile // stride * stride
    roi = Box(0, 0, width, height) if roi is None else roi
    _check_roi(roi, width, height)
    tw, xs, xspans = axis_windows(width, tile, halo, stride)
    th, ys, yspans = axis_windows(height, tile, halo, stride)
    rows: list[tuple[Tile, ...]] = []
    for r, (oy, (cy0, cy1)) in enumerate(zip(ys, yspans, strict=True)):
        row: list[Tile] = []
        for c, (ox, (cx0, cx1)) in enumerate(zip(xs, xspans, strict=True)):
            core = Box(cx0, cy0, cx1 - cx0, cy1 - cy0).intersect(roi)
            if core.is_empty or (mask is not None and not _meets(mask, core, width, height)):
                continue
            row.append(Tile(r, c, Box(ox, oy, tw, th), core))
        if row:
            rows.append(tuple(row))
    return TilePlan(tuple(rows), roi, tw, th, halo)


def output_pixels(width: int, height: int, options: InferOptions) -> int:
    """The pixels a job produces: its region, less what its mask leaves out."""
    roi = Box(0, 0, width, height) if options.roi is None else Box(*options.roi)
    if options.mask is None:
        return roi.area
    mask = options.mask
    mh, mw = mask.shape[:2]
    y0, y1 = roi.y * mh // height, -(-roi.y1 * mh // height)
    x0, x1 = roi.x * mw // width, -(-roi.x1 * mw // width)
    part = mask[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    return int(roi.area * float(np.mean(part)))


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
    _check_step(size, halo, stride)
    step = _step(size, halo, stride)
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


def _check_grid(tile: int, halo: int, stride: int) -> None:
    if stride < 1 or halo < 0:
        raise InferenceError(f"bad stride {stride} or halo {halo}")
    if tile // stride * stride < stride:
        raise InferenceError(f"tile must be at least the output stride {stride}, got {tile}")


def _check_step(tile: int, halo: int, stride: int) -> None:
    if _step(tile, halo, stride) < stride:
        need = 2 * halo + stride
        raise InferenceError(
            f"tile {tile} is too small for halo {halo} with output stride {stride}; "
            f"use a tile of at least {round_up(need, stride)} or a smaller halo"
        )


def _check_roi(roi: Box, width: int, height: int) -> None:
    if roi.is_empty or Box(0, 0, width, height).intersect(roi) != roi:
        raise InferenceError(
            f"region {roi.x},{roi.y},{roi.w},{roi.h} is not inside the "
            f"{width} x {height} image; give x,y,w,h with w, h > 0 inside it"
        )


def _meets(mask: np.ndarray, core: Box, width: int, height: int) -> bool:
    """Whether ``core`` (image pixels) overlaps a True pixel of a mask of any size."""
    mh, mw = mask.shape[:2]
    y0, y1 = core.y * mh // height, -(-core.y1 * mh // height)
    x0, x1 = core.x * mw // width, -(-core.x1 * mw // width)
    return bool(mask[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)].any())
