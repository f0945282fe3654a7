"""How one image's tile plan is cut into tasks, and where their outputs meet.

A :class:`~segcore.engine.tiling.TilePlan` is decided once, on the client, for
the whole image, exactly as the single-process engine decides it. It is then
cut into :class:`Part`\\ s, runs of whole plan rows: a part computes the same
tiles the engine would, so its output rows are the engine's, bit for bit, and
no tile is computed twice.

Parts end where tile cores end, which is rarely on a chunk boundary of the
output store. A part writes the chunk rows that lie wholly inside it; the
rows of a chunk row shared with a neighbour are handed back as pieces, and
one :class:`Seam` task per shared chunk row joins them and writes it. Every
write is therefore a region aligned to the store's chunks and no chunk has two
writers. (Instance maps will add their id merge at the seams: a seam sees both
sides of the border.)

>>> chunk_rows(0, 700, chunk=256, height=700)
[(0, 256), (256, 512), (512, 700)]
"""

from __future__ import annotations

from dataclasses import dataclass

from segcore.engine.tiling import TilePlan
from segcore.errors import InferenceError

MAX_PARTS = 64  # per image; more rows than this are grouped (fewer, longer tasks)


@dataclass(frozen=True)
class Part:
    """Plan rows ``rows[0] .. rows[1] - 1``: output rows ``y0 .. y1`` (store rows)."""

    index: int
    rows: tuple[int, int]
    y0: int
    y1: int
    tiles: int
    pixels: int  # output pixels (core area)


@dataclass(frozen=True)
class Seam:
    """Store rows ``y0 .. y1`` (one chunk row) that ``parts`` each produce some of."""

    y0: int
    y1: int
    parts: tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    """An image's parts and seams over a store of ``height`` rows in ``chunk``-row chunks."""

    parts: tuple[Part, ...]
    seams: tuple[Seam, ...]
    chunk: int
    height: int


def chunk_rows(y0: int, y1: int, *, chunk: int, height: int) -> list[tuple[int, int]]:
    """The chunk rows (start, end) of a store ``height`` rows high that meet rows ``y0 .. y1``."""
    first, last = y0 // chunk, (y1 - 1) // chunk
    return [(k * chunk, min((k + 1) * chunk, height)) for k in range(first, last + 1)]


def owned(part: Part, *, chunk: int, height: int) -> tuple[int, int]:
    """Store rows ``a .. b`` of the chunk rows that lie wholly inside ``part`` (a >= b: none)."""
    a = -(-part.y0 // chunk) * chunk
    b = part.y1 if part.y1 == height else part.y1 // chunk * chunk
    return a, b


def split_plan(plan: TilePlan, *, chunk: int, max_parts: int = MAX_PARTS) -> Layout:
    """Cut ``plan`` into at most ``max_parts`` runs of whole rows, and find the seams.

    The plan must cover its region without gaps (no mask), as every plan without
    a mask does.
    """
    top, height = plan.roi.y, plan.roi.h
    spans = []
    for row in plan.rows:
        core = row[0].core
        spans.append((core.y - top, core.y1 - top, len(row), sum(t.core.area for t in row)))
    if not spans or spans[0][0] != 0 or spans[-1][1] != height:
        raise InferenceError("a cluster run needs a tile plan covering its whole region")
    for (_, end, _, _), (start, _, _, _) in zip(spans, spans[1:], strict=False):
        if end != start:
            raise InferenceError("a cluster run needs a tile plan without gaps (no mask)")
    per = -(-len(spans) // max(max_parts, 1))
    parts = []
    for index, r0 in enumerate(range(0, len(spans), per)):
        group = spans[r0 : r0 + per]
        parts.append(
            Part(
                index,
                (r0, r0 + len(group)),
                group[0][0],
                group[-1][1],
                sum(g[2] for g in group),
                sum(g[3] for g in group),
            )
        )
    return Layout(tuple(parts), _seams(parts, chunk, height), chunk, height)


def _seams(parts: list[Part], chunk: int, height: int) -> tuple[Seam, ...]:
    """Chunk rows that no single part holds whole, with the parts that meet them."""
    sharing: dict[tuple[int, int], list[int]] = {}
    for part in parts:
        a, b = owned(part, chunk=chunk, height=height)
        for rows in chunk_rows(part.y0, part.y1, chunk=chunk, height=height):
            if not (a <= rows[0] and rows[1] <= b):
                sharing.setdefault(rows, []).append(part.index)
    return tuple(Seam(y0, y1, tuple(ids)) for (y0, y1), ids in sorted(sharing.items()))
