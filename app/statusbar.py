"""Status bar: pixel, map coordinates, band values, class and instance under the cursor, zoom.

Values come from tiles already in the canvas cache (``CanvasView.sample``);
nothing is read from disk on the GUI thread. Where only a coarser level is
cached, the value is that level's and is marked with its level.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.canvas.view import CanvasView
from segcore.io.source import SourceMetadata


def short_crs(crs: str | None) -> str:
    """'EPSG:32616' as is; a WKT string shortened to its name."""
    if not crs:
        return ""
    if len(crs) < 24:
        return crs
    match = re.search(r'^\w+\["([^"]+)"', crs.strip())
    return match.group(1) if match else crs[:24] + "..."


def map_coords(meta: SourceMetadata, x: float, y: float) -> str:
    """Map coordinates of level-0 pixel position (x, y), with the CRS, or ''."""
    if meta.transform is None:
        return ""
    a, b, c, d, e, f = meta.transform
    mx, my = a * x + b * y + c, d * x + e * y + f
    digits = 6 if abs(a) < 0.01 else 2  # degrees need more digits than metres
    crs = short_crs(meta.crs)
    return f"{mx:.{digits}f}, {my:.{digits}f}" + (f" ({crs})" if crs else "")


class StatusBar(QStatusBar):
    """Shows what is under the cursor; ``show_at`` is connected to the canvas's ``hovered``."""

    def __init__(self, canvas: CanvasView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.position = self._label("", 120, "Pixel column, row under the cursor")
        self.coords = self._label("", 0, "Map coordinates (georeferenced images)")
        self.values = self._label("", 90, "Band values under the cursor")
        self.labels = self._label("", 240, "Class and instance under the cursor")
        self.current_object = self._label("", 0, "The object thing-class strokes extend (N: new)")
        self.zoom = self._label("", 110, "Zoom (screen pixels per image pixel) and pyramid level")
        self._where: tuple[float, float] | None = None
        canvas.hovered.connect(self.show_at)
        canvas.view_changed.connect(self.show_zoom)
        canvas.loader.loaded.connect(lambda _key: self.refresh())

    def refresh(self) -> None:
        """Describe the last point again: the labels under a still mouse changed (a fill)."""
        if self._where is not None:
            self.show_at(self._where)

    def show_object(self, text: str) -> None:
        """The current object, e.g. "Object #3 (cell)"; '' when there is none."""
        self.current_object.setText(text)

    def _label(self, text: str, width: int, tip: str) -> QLabel:
        label = QLabel(text)
        label.setToolTip(tip)
        if width:
            label.setMinimumWidth(width)
        self.addPermanentWidget(label)
        return label

    def show_at(self, where: tuple[float, float] | None) -> None:
        canvas = self.canvas
        layer = canvas.image_layer
        self._where = where
        if where is None or layer is None:
            for label in (self.position, self.coords, self.values, self.labels):
                label.setText("")
            return
        x, y = where
        self.position.setText(f"x {int(x)}, y {int(y)}")
        self.coords.setText(map_coords(layer.source.metadata, x, y))
        self.values.setText(self._describe("image", x, y))
        parts = []
        for lay in canvas.layers[1:]:
            if lay.visible:
                text = self._describe(lay.id, x, y)
                if text:
                    parts.append(f"{lay.name}: {text}")
        self.labels.setText("   ".join(parts))

    def _describe(self, layer_id: str, x: float, y: float) -> str:
        found: tuple[Any, int] | None = self.canvas.sample(layer_id, x, y)
        layer = self.canvas.layer(layer_id)
        if found is None or layer is None:
            return ""
        value, level = found
        text = layer.describe(value)
        return text if level == 0 else f"{text} (level {level})"

    def show_zoom(self) -> None:
        canvas = self.canvas
        layer = canvas.image_layer
        if layer is None:
            self.zoom.setText("")
            return
        level = canvas.viewport.level_for(layer.level_downsamples)
        z = f"  slice {canvas.z + 1}/{layer.source.depth}" if layer.source.depth > 1 else ""
        self.zoom.setText(f"{canvas.viewport.zoom_percent()}  L{level}{z}")
