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
    ``stuff`` classes do not (background, water, road).
    """

    id: int
    name: str
    color: Color
    thing: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "color": list(self.color), "thing": self.thing}

    @staticmethod
    def from_json(data: dict[str, Any]) -> ClassInfo:
        try:
            color = tuple(int(c) for c in data["color"])
            if len(color) != 3:
                raise ValueError("color needs three values")
            return ClassInfo(int(data["id"]), str(data["name"]), color, bool(data.get("thing")))
        except (KeyError, TypeError, ValueError) as exc:
            raise LabelError(f"bad class entry {data!r}: {exc}") from exc


def default_color(index: int) -> Color:
    """A distinct, saturated colour for class ``index`` (golden-ratio hues)."""
    hue = (index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return (int(r * 255), int(g * 255), int(b * 255))


def make_classes(names: list[str], things: set[str] | None = None) -> list[ClassInfo]:
    """Classes with ids 0..n-1 and default colours."""
    if not 0 < len(names) <= MAX_CLASSES - 1:
        raise LabelError(f"need 1..{MAX_CLASSES - 1} classes, got {len(names)}")
    if len(set(names)) != len(names):
        raise LabelError(f"class names must be unique: {names}")
    things = things or set()
    return [ClassInfo(i, n, default_color(i), n in things) for i, n in enumerate(names)]


def palette(classes: Sequence[ClassInfo]) -> list[Color]:
    """Colour by class id, for ids 0..255 (unused ids black)."""
    table: list[Color] = [(0, 0, 0)] * 256
    for c in classes:
        table[c.id] = c.color
    return table
