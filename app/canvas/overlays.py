"""Label overlays: semantic, instance, panoptic, and a confidence heat map.

Each overlay is a :class:`~app.canvas.layers.TileLayer` over a label reader
(:class:`segcore.labels.reader.LabelReader`: a label store, whose overviews --
mode/nearest downsampled, kept up to date on edit -- are what is read zoomed
out; an in-memory map; the prediction, whose extra ``"confidence"`` layer the heat
map reads); the map is never scanned whole. Colours are looked up per pixel from
small tables, in the tile worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from app.canvas.layers import TileLayer
from app.canvas.render import argb_to_qimage, colormap_table
from segcore.labels.reader import LabelReader
from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo

GOLDEN = 0.618033988749895
OUTLINE = np.uint32(0xFFFFFFFF)  # opaque white


# -- colour tables -----------------------------------------------------------


def _argb(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return np.asarray(
        0xFF000000 | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2], np.uint32
    )


def class_table(classes: Sequence[ClassInfo]) -> np.ndarray:
    """(256,) opaque ARGB word per class id; unlabelled and unknown ids transparent."""
    table = np.zeros(256, np.uint32)
    for c in classes:
        if c.id != UNLABELLED:
            table[c.id] = _argb(np.array(c.color))
    return table


def instance_rgb(ids: np.ndarray) -> np.ndarray:
    """A distinct, saturated colour per instance id (golden-ratio hues), (..., 3) uint8."""
    hue = (ids.astype(np.float64) * GOLDEN) % 1.0
    sat = 0.55 + 0.35 * ((ids.astype(np.float64) * 0.382) % 1.0)
    return _hsv_to_rgb(hue, sat, np.full(hue.shape, 0.95))


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6.0).astype(np.int64) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.round(np.stack([r, g, b], axis=-1) * 255).astype(np.uint8)


def shade_factor(ids: np.ndarray) -> np.ndarray:
    """Brightness factor in [0.6, 1.4) per instance id, so instances of a class differ."""
    return 0.6 + 0.8 * ((ids.astype(np.float64) * GOLDEN) % 1.0)


def boundaries(values: np.ndarray) -> np.ndarray:
    """Pixels of the inner window (one-pixel halo removed) that differ from a 4-neighbour."""
    c = values[1:-1, 1:-1]
    return np.asarray(
        (c != values[:-2, 1:-1])
        | (c != values[2:, 1:-1])
        | (c != values[1:-1, :-2])
        | (c != values[1:-1, 2:]),
        bool,
    )


# -- renderers (pure functions of raw values and style) -----------------------


def render_semantic(raw: np.ndarray, table: np.ndarray, outlines: bool) -> np.ndarray:
    """Class map with a one-pixel halo -> ARGB words of the inner window."""
    words = table[raw[1:-1, 1:-1]]
    if outlines:
        edge = boundaries(raw) & (raw[1:-1, 1:-1] != UNLABELLED)
        words[edge] = OUTLINE
    return words


def render_instance(raw: np.ndarray, outlines: bool) -> np.ndarray:
    """Instance ids with a halo -> a colour per instance, 0 transparent, white outlines."""
    ids = raw[1:-1, 1:-1]
    words = np.where(ids != NO_INSTANCE, _argb(instance_rgb(ids)), np.uint32(0)).astype(np.uint32)
    if outlines:
        words[boundaries(raw) & (ids != NO_INSTANCE)] = OUTLINE
    return words


def render_panoptic(raw: np.ndarray, classes: Sequence[ClassInfo], outlines: bool) -> np.ndarray:
    """(h+2, w+2, 2) [class, instance] -> stuff in class colour, things in shades of it."""
    sem, inst = raw[1:-1, 1:-1, 0], raw[1:-1, 1:-1, 1]
    colours = np.zeros((256, 3), np.float64)
    things = np.zeros(256, bool)
    for c in classes:
        colours[c.id] = c.color
        things[c.id] = c.thing
    rgb = colours[sem.astype(np.intp)]
    is_thing = things[sem.astype(np.intp)] & (inst != NO_INSTANCE)
    rgb[is_thing] *= shade_factor(inst[is_thing])[:, None]
    words = _argb(np.clip(np.round(rgb), 0, 255))
    words[sem == UNLABELLED] = 0
    if outlines:
        words[boundaries(raw[..., 1]) & is_thing] = OUTLINE
    return words


def render_heat(raw: np.ndarray, colormap: str, uncertainty: bool) -> np.ndarray:
    """uint8 confidence (255 certain, 0 = no prediction) -> colour-mapped, 0 transparent."""
    conf = raw[1:-1, 1:-1]
    idx = 255 - conf if uncertainty else conf
    words = _argb(colormap_table(colormap)[idx])
    words[conf == 0] = 0
    return words


# -- layers ------------------------------------------------------------------


class LabelOverlay(TileLayer):
    """Base of overlays over a label reader; reads are serialised by ``lock``."""

    halo = 1
    kind = "labels"
    patchable = True  # edits land in the store's chunk cache first

    def __init__(
        self,
        layer_id: str,
        name: str,
        labels: LabelReader,
        classes: Sequence[ClassInfo],
        *,
        lock: threading.RLock | None = None,
        opacity: float = 0.5,
        visible: bool = True,
    ) -> None:
        super().__init__(layer_id, name, visible=visible, opacity=opacity)
        self.labels = labels
        self.classes = tuple(classes)
        self.lock = lock or threading.RLock()

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return tuple(self.labels.level_downsamples)

    def level_size(self, level: int) -> tuple[int, int]:
        return self.labels.level_size(level)

    @property
    def has_depth(self) -> bool:  # type: ignore[override]
        """A label volume: each slice has its own tiles."""
        return int(getattr(self.labels, "depth", 1)) > 1

    def _read(
        self, layer: Any, level: int, x: int, y: int, w: int, h: int, z: int = 0
    ) -> np.ndarray:
        with self.lock:
            labels = self.labels.plane(z) if self.has_depth else self.labels  # type: ignore[attr-defined]
            return labels.read(layer, x, y, w, h, level=level)

    def class_name(self, class_id: int) -> str:
        if class_id == UNLABELLED:
            return "unlabelled"
        for c in self.classes:
            if c.id == class_id:
                return c.name
        return f"class {class_id}"


@dataclass(frozen=True)
class _ClassStyle:
    classes: tuple[ClassInfo, ...]
    outlines: bool


class SemanticOverlay(LabelOverlay):
    """Class map in class colours."""

    kind = "semantic"
    source_layer = "semantic"

    def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
        return self._read(self.source_layer, level, x, y, w, h, z)

    def render(self, raw: np.ndarray, style: Any) -> QImage:
        return argb_to_qimage(render_semantic(raw, class_table(style.classes), style.outlines))

    def style(self) -> Hashable:
        return _ClassStyle(self.classes, self.outlines)

    def describe(self, value: Any) -> str:
        return self.class_name(int(value))


class InstanceOverlay(LabelOverlay):
    """Instance map: a distinct colour per instance, white outlines."""

    kind = "instance"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outlines = True

    def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
        return self._read("instance", level, x, y, w, h, z)

    def render(self, raw: np.ndarray, style: Any) -> QImage:
        return argb_to_qimage(render_instance(raw, bool(style)))

    def style(self) -> Hashable:
        return self.outlines

    def describe(self, value: Any) -> str:
        return "no instance" if int(value) == NO_INSTANCE else f"instance {int(value)}"


class PanopticOverlay(LabelOverlay):
    """Stuff in its class colour, things in per-instance shades of theirs, outlined."""

    kind = "panoptic"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outlines = True

    def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
        sem = self._read("semantic", level, x, y, w, h, z)
        inst = self._read("instance", level, x, y, w, h, z)
        return np.stack([sem.astype(np.uint32), inst.astype(np.uint32)], axis=-1)

    def render(self, raw: np.ndarray, style: Any) -> QImage:
        return argb_to_qimage(render_panoptic(raw, style.classes, style.outlines))

    def style(self) -> Hashable:
        return _ClassStyle(self.classes, self.outlines)

    def describe(self, value: Any) -> str:
        cls, inst = int(value[0]), int(value[1])
        name = self.class_name(cls)
        return name if inst == NO_INSTANCE else f"{name} #{inst}"


class HeatOverlay(LabelOverlay):
    """Model confidence (or uncertainty = 1 - confidence) as a colour-mapped heat map."""

    kind = "confidence"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.colormap = "magma"
        self.uncertainty = True

    def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
        return self._read("confidence", level, x, y, w, h, z)

    def render(self, raw: np.ndarray, style: Any) -> QImage:
        colormap, uncertainty = style
        return argb_to_qimage(render_heat(raw, colormap, uncertainty))

    def style(self) -> Hashable:
        return (self.colormap, self.uncertainty)

    def describe(self, value: Any) -> str:
        v = int(value)
        return "no prediction" if v == 0 else f"confidence {v / 255:.2f}"
