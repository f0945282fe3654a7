"""Class schema shared by labels, models, training and export.

Class maps are ``uint8``: 0..254 are class ids, :data:`UNLABELLED` (255) means
"nobody said". Instance maps are ``uint32``: 0 means "no instance".
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from segcore.errors import LabelError

UNLABELLED = 255
NO_INSTANCE = 0
MAX_CLASSES = 255

Color = tuple[int, int, int]


@dataclass(frozen=True)
class ClassInfo:
    """One class: its id in the class map, name, display colour, and kind.

    ``thing`` classes have countable instances (cells, buildings, cars);
    ``stuff`` classes do not (background, water, road). ``aliases`` are the
    names the class had before it was renamed, so a model trained under an old
    name still finds it (:mod:`segcore.labels.classmatch`).
    """

    id: int
    name: str
    color: Color
    thing: bool = False
    aliases: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "color": list(self.color),
            "thing": self.thing,
        }
        if self.aliases:
            data["aliases"] = list(self.aliases)
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> ClassInfo:
        try:
            color = tuple(int(c) for c in data["color"])
            if len(color) != 3:
                raise ValueError("color needs three values")
            aliases = tuple(str(a) for a in data.get("aliases") or ())
            name = str(data["name"])
            return ClassInfo(int(data["id"]), name, color, bool(data.get("thing")), aliases)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise LabelError(f"bad class entry {data!r}: {exc}") from exc


BACKGROUND_COLOR: Color = (96, 96, 104)  # a quiet slate grey, never an alarm colour
BACKGROUND_NAMES = frozenset({"background", "bg", "backdrop", "other", "none", "void"})


def default_color(index: int, name: str | None = None) -> Color:
    """A distinct, saturated colour for class ``index`` (golden-ratio hues).

    A background class (``name`` such as "background" or "bg") is slate grey.
    The hue sequence starts one golden step in, so class 0 is blue, not red.

    >>> default_color(0, "background")
    (96, 96, 104)
    >>> default_color(0)
    (60, 113, 242)
    """
    if name is not None and name.strip().lower() in BACKGROUND_NAMES:
        return BACKGROUND_COLOR
    hue = ((index + 1) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return (int(r * 255), int(g * 255), int(b * 255))


def make_classes(names: list[str], things: set[str] | None = None) -> list[ClassInfo]:
    """Classes with ids 0..n-1 and default colours."""
    if not 0 < len(names) <= MAX_CLASSES - 1:
        raise LabelError(f"need 1..{MAX_CLASSES - 1} classes, got {len(names)}")
    if len(set(names)) != len(names):
        raise LabelError(f"class names must be unique: {names}")
    things = things or set()
    return [ClassInfo(i, n, default_color(i, n), n in things) for i, n in enumerate(names)]


def palette(classes: Sequence[ClassInfo]) -> list[Color]:
    """Colour by class id, for ids 0..255 (unused ids black)."""
    table: list[Color] = [(0, 0, 0)] * 256
    for c in classes:
        table[c.id] = c.color
    return table
