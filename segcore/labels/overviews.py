"""Label overviews: a 2x pyramid of the class and instance maps, for display.

Level ``k`` is made from level ``k-1`` 2x2 block by 2x2 block: the class map by
the block's most frequent value (ties go to the smallest value, so a labelled
class beats :data:`~segcore.labels.schema.UNLABELLED` in a 2-2 tie), the
instance map by the block's top-left pixel (nearest). Blocks that hang over an
odd edge repeat their last row/column. After an edit only the blocks above the
changed box are recomputed, level by level, never the whole map.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from segcore.labels.box import Box, chunk_box
from segcore.labels.chunkcache import ChunkCache
from segcore.labels.planes import plane_name
from segcore.labels.schema import NO_INSTANCE, UNLABELLED


def level_sizes(width: int, height: int, limit: int = 256) -> list[tuple[int, int]]:
    """(width, height) of level 0 and each overview, halving until the long side <= limit.

    >>> level_sizes(1000, 300)
    [(1000, 300), (500, 150), (250, 75)]
    """
    sizes = [(width, height)]
    while max(sizes[-1]) > limit:
        w, h = sizes[-1]
        sizes.append(((w + 1) // 2, (h + 1) // 2))
    return sizes


def mode_2x2(block: np.ndarray) -> np.ndarray:
    """Most frequent value of each 2x2 block of an even-sized uint8 array.

    >>> mode_2x2(np.array([[1, 1], [2, 255]], dtype=np.uint8))
    array([[1]], dtype=uint8)
    >>> mode_2x2(np.array([[3, 255], [255, 3]], dtype=np.uint8))
    array([[3]], dtype=uint8)
    """
    a, b = block[0::2, 0::2], block[0::2, 1::2]
    c, d = block[1::2, 0::2], block[1::2, 1::2]
    if block.size <= 4096:  # a brush dab: fewest numpy calls
        v = np.stack([a, b, c, d], axis=-1)
        v.sort(axis=-1)
        s0, s1, s2, s3 = v[..., 0], v[..., 1], v[..., 2], v[..., 3]
        # sorted: a middle pair wins; else the lower pair; else the upper pair; else s0
        small: np.ndarray = np.where(s1 == s2, s1, np.where((s0 == s1) | (s2 != s3), s0, s2))
        return small
    out: np.ndarray = a.copy()
    mixed = (a != b) | (a != c) | (a != d)  # most blocks are uniform: keep a
    if not mixed.any():
        return out
    a, b, c, d = a[mixed], b[mixed], c[mixed], d[mixed]
    ab, ac, ad = a == b, a == c, a == d
    bc, bd, cd = b == c, b == d, c == d
    best = np.zeros(a.shape, np.int16)
    # key = count * 256 + (255 - value): the most frequent wins, then the smallest value
    for v, n in (
        (a, 1 + ab.astype(np.int16) + ac + ad),
        (b, 1 + ab.astype(np.int16) + bc + bd),
        (c, 1 + ac.astype(np.int16) + bc + cd),
        (d, 1 + ad.astype(np.int16) + bd + cd),
    ):
        best = np.maximum(best, n * 256 + (255 - v.astype(np.int16)))
    out[mixed] = (255 - (best & 255)).astype(np.uint8)
    return out


def nearest_2x2(block: np.ndarray) -> np.ndarray:
    """Top-left pixel of each 2x2 block."""
    return np.ascontiguousarray(block[0::2, 0::2])


def reduce_2x2(block: np.ndarray, layer: str) -> np.ndarray:
    """One overview step of ``block`` (any size; odd edges repeat)."""
    h, w = block.shape
    if h % 2 or w % 2:
        block = np.pad(block, ((0, h % 2), (0, w % 2)), mode="edge")
    return mode_2x2(block) if layer == "semantic" else nearest_2x2(block)


def _parent(b: Box, width: int, height: int) -> Box:
    x0, y0 = b.x // 2, b.y // 2
    x1, y1 = min((b.x1 + 1) // 2, width), min((b.y1 + 1) // 2, height)
    return Box(x0, y0, x1 - x0, y1 - y0)


def parent_boxes(boxes: Iterable[Box], chunk: int, width: int, height: int) -> list[Box]:
    """Boxes of the next level above ``boxes``, merged per chunk of that level."""
    boxes = [b for b in boxes if not b.is_empty]
    if len(boxes) == 1:  # a brush dab: no merging to do
        return [_parent(boxes[0], width, height)]
    per_chunk: dict[tuple[int, int], Box] = {}
    for b in boxes:
        up = _parent(b, width, height)
        for cy, cx in up.chunks(chunk):
            part = up.intersect(chunk_box(cy, cx, chunk, width, height))
            old = per_chunk.get((cy, cx))
            per_chunk[(cy, cx)] = part if old is None else old.union(part)
    return list(per_chunk.values())


def update(
    cache: ChunkCache,
    sizes: list[tuple[int, int]],
    chunk: int,
    layer: str,
    boxes: list[Box],
    *,
    plane: int | None = None,
) -> None:
    """Recompute the overviews of ``layer`` above the level-0 ``boxes`` (of slice ``plane``)."""
    fill = UNLABELLED if layer == "semantic" else NO_INSTANCE
    for level in range(1, len(sizes)):
        w, h = sizes[level]
        pw, ph = sizes[level - 1]
        boxes = parent_boxes(boxes, chunk, w, h)
        for b in boxes:
            x0, y0 = 2 * b.x, 2 * b.y
            src = Box(x0, y0, min(2 * b.x1, pw) - x0, min(2 * b.y1, ph) - y0)
            block = cache.read(plane_name(f"{layer}/{level - 1}", plane), src, fill)
            cache.write(plane_name(f"{layer}/{level}", plane), b.x, b.y, reduce_2x2(block, layer))


def rebuild(
    cache: ChunkCache,
    sizes: list[tuple[int, int]],
    chunk: int,
    layer: str,
    *,
    plane: int | None = None,
) -> None:
    """Recompute every overview of ``layer`` (of slice ``plane``) from level 0."""
    w, h = sizes[0]
    boxes = [chunk_box(cy, cx, chunk, w, h) for cy, cx in Box(0, 0, w, h).chunks(chunk)]
    update(cache, sizes, chunk, layer, boxes, plane=plane)
