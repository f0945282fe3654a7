"""Checks every importer runs before it trusts a value from a file.

Label files come from other tools, other people and sometimes from nowhere
good. Before anything is rasterised: JSON is parsed with limits (nesting
depth, digits per number), sizes must be positive integers, coordinates
finite numbers within one image size of the image's edges (farther than
that no label can land, and past it pycocotools' integer arithmetic
overflows), and the labels must fit in the memory that is free. Each check
records a problem naming the file, the record and the field, and returns
None, so an importer lists every problem of a file before refusing it.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from segcore.formats.problems import Problems

MAX_DEPTH = 64  # GeoJSON MultiPolygons nest 8 deep, COCO 5
MAX_DIGITS = 64  # characters in one JSON number; a double needs at most 24
BYTES_PER_PIXEL = 9  # class map (1) + instance map (4) + an owner map (4) while rasterising
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_LONG_NUMBER = re.compile(rb"[-+0-9.eE]{%d,}" % (MAX_DIGITS + 1))


class _TooLong(ValueError):
    pass


def _number(text: str, kind: type) -> Any:
    if len(text) > MAX_DIGITS:
        raise _TooLong(text)
    return kind(text)


def parse_json(data: bytes) -> Any:
    """Decode JSON with limits; ``ValueError`` says what is wrong and where.

    ``NaN`` and ``Infinity`` decode to floats (Python writes them), so that the
    field they are in can be named when it is checked.
    """
    check_json_limits(data)
    try:
        return json.loads(
            data,
            parse_int=lambda s: _number(s, int),
            parse_float=lambda s: _number(s, float),
        )
    except _TooLong as exc:  # not found by the scan: cannot happen, but never parse it
        raise ValueError(f"a number {len(str(exc))} characters long") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


def check_json_limits(data: bytes) -> None:
    """``ValueError`` if JSON text nests deeper than :data:`MAX_DEPTH` or holds a number
    longer than :data:`MAX_DIGITS` characters (strings are skipped; linear, C speed).

    Cheap enough to run before handing a file to another parser (GDAL's).
    """
    bare = _STRING.sub(b'""', data)
    depth = _depth(bare.translate(None, _NOT_BRACKETS))
    if depth > MAX_DEPTH:
        raise ValueError(f"JSON nested {depth} levels deep; at most {MAX_DEPTH} are accepted")
    found = _LONG_NUMBER.search(bare)
    if found is not None:
        line = bare.count(b"\n", 0, found.start()) + 1
        raise ValueError(
            f"a number {len(found.group())} characters long at line {line}; at most "
            f"{MAX_DIGITS} are accepted"
        )


def _depth(brackets: bytes) -> int:
    """Deepest nesting in a string of brackets alone."""
    if not brackets:
        return 0
    steps = np.frombuffer(brackets, np.uint8)
    opens = (steps == ord("[")) | (steps == ord("{"))
    depth, deepest = 0, 0
    block = 1 << 24
    for start in range(0, len(steps), block):
        part = np.where(opens[start : start + block], 1, -1).astype(np.int32)
        levels = np.cumsum(part, dtype=np.int64) + depth
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
    return deepest


def integer(value: Any) -> int | None:
    """``value`` as an int if it is one (an integral float counts; bools and text do not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def size(value: Any, where: str, field: str, problems: Problems) -> int | None:
    """A positive integer image side, or None with a problem naming ``field``."""
    n = integer(value)
    if n is None or n < 1:
        problems.add(where, f"'{field}' must be a positive integer, got {_show(value)}")
        return None
    return n


def coords(values: Any, what: str, *, width: int, height: int) -> NDArray[np.float64]:
    """Vertices ``(n, 2)`` from ``[x, y, x, y, ...]`` or ``[[x, y], ...]``, checked.

    Every coordinate must be a finite number no farther than one image size
    outside the ``width`` x ``height`` image; ``ValueError`` names ``what`` and
    the first point that is not.
    """
    if not isinstance(values, list | tuple):
        raise ValueError(f"{what} must be a list of coordinates, got {_show(values)}")
    flat: list[Any] = []
    for v in values:
        if isinstance(v, list | tuple):
            if len(v) != 2:
                raise ValueError(f"{what} has a point with {len(v)} values, not 2")
            flat.extend(v)
        else:
            flat.append(v)
    bad = next((v for v in flat if isinstance(v, bool) or not isinstance(v, int | float)), None)
    if bad is not None or len(flat) % 2:
        found = f"a value {_show(bad)}" if bad is not None else "an odd number of values"
        raise ValueError(f"{what} must hold x, y numbers; it has {found}")
    if any(isinstance(v, int) and abs(v) > 2**53 for v in flat):
        raise ValueError(f"{what} holds an integer too large for a coordinate")
    xy = np.asarray(flat, np.float64).reshape(-1, 2)
    check_within(xy, what, width=width, height=height)
    return xy


def check_within(xy: NDArray[np.float64], what: str, *, width: int, height: int) -> None:
    """``ValueError`` for the first point that is not finite or lies far off the image."""
    x, y = xy[:, 0], xy[:, 1]
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"{what} point {k} is ({_num(x[k])}, {_num(y[k])})")
    far = (x < -width) | (x > 2 * width) | (y < -height) | (y > 2 * height)
    if far.any():
        k = int(np.flatnonzero(far)[0])
        raise ValueError(
            f"{what} point {k} ({_num(x[k])}, {_num(y[k])}) lies far outside the "
            f"{width} x {height} image"
        )


class MemoryBudget:
    """Rasterised labels of a whole import must fit in the memory that is free."""

    def __init__(self, available: int | None = None) -> None:
        if available is None:
            import psutil

            available = int(psutil.virtual_memory().available * 0.8)
        self.left = available

    def reserve(self, width: int, height: int, where: str, problems: Problems) -> bool:
        """Take ``width`` x ``height`` pixels of labels from the budget; False if too many."""
        need = width * height * BYTES_PER_PIXEL
        if need <= self.left:
            self.left -= need
            return True
        problems.add(
            where,
            f"{width} x {height} pixels: importing needs {_gib(need)} of memory for its labels "
            f"and {_gib(max(self.left, 0))} is left; import fewer or smaller images at a time",
        )
        return False


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def _num(v: float) -> str:
    return "NaN" if math.isnan(v) else f"{v:g}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
