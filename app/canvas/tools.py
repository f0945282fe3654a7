"""Mouse tools: the hook through which anything that draws on the canvas plugs in.

The canvas hands every press, move and release to its current tool first, in
level-0 image coordinates; a tool that returns False lets the canvas pan.
Space + drag and the middle button always pan, whatever the tool. A tool may
paint feedback (a rubber band, a brush outline) after the layers.

Example: an annotation brush would subclass :class:`CanvasTool`, apply the
dab to the label store in ``press``/``move`` (through segcore) and call
``canvas.invalidate("labels", box)`` so the touched tiles are read again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPen

from segcore.labels.box import Box

if TYPE_CHECKING:
    from app.canvas.view import CanvasView


@dataclass(frozen=True)
class ToolEvent:
    """A mouse event as a tool sees it: image and screen positions, buttons, modifiers."""

    x: float  # level-0 image pixels
    y: float
    sx: float  # widget pixels
    sy: float
    button: Qt.MouseButton
    buttons: Qt.MouseButton
    modifiers: Qt.KeyboardModifier


class CanvasTool:
    """Base mouse tool: does nothing, so the canvas pans on drag."""

    name = "Pan"
    cursor = Qt.CursorShape.OpenHandCursor

    def __init__(self) -> None:
        self.canvas: CanvasView | None = None

    def activate(self, canvas: CanvasView) -> None:
        self.canvas = canvas

    def deactivate(self) -> None:
        self.canvas = None

    def press(self, event: ToolEvent) -> bool:
        return False

    def move(self, event: ToolEvent) -> bool:
        return False

    def release(self, event: ToolEvent) -> bool:
        return False

    def key(self, event: QKeyEvent) -> bool:
        return False

    def double_click(self, event: ToolEvent) -> bool:
        """A double click (after its first click's press and release); True: handled."""
        return False

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        """Draw feedback in widget coordinates (``canvas.viewport.to_screen``)."""


def pixel_box(a: tuple[float, float], b: tuple[float, float], size: tuple[int, int]) -> Box:
    """Pixels whose squares a drag from image point ``a`` to ``b`` touches, inside the image."""
    x0, x1 = sorted((a[0], b[0]))
    y0, y1 = sorted((a[1], b[1]))
    box = Box.from_bounds(math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    return box.clip(*size)


class DragBoxTool(CanvasTool):
    """Drag a box; :meth:`done` gets the level-0 pixels it touches (inside the image).

    Escape drops a box being dragged.
    """

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self) -> None:
        super().__init__()
        self.start: tuple[float, float] | None = None
        self.end: tuple[float, float] | None = None

    def done(self, box: Box) -> None:
        """Act on the dragged box (never empty)."""

    def press(self, event: ToolEvent) -> bool:
        if event.button != Qt.MouseButton.LeftButton:
            return False
        self.start = self.end = (event.x, event.y)
        return True

    def move(self, event: ToolEvent) -> bool:
        if self.start is None:
            return False
        self.end = (event.x, event.y)
        self._update()
        return True

    def release(self, event: ToolEvent) -> bool:
        if self.start is None or self.canvas is None:
            return False
        box = pixel_box(self.start, (event.x, event.y), self.canvas.image_size)
        self.start = self.end = None
        self._update()
        if not box.is_empty:
            self.done(box)
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.start is not None:
            self.start = self.end = None
            self._update()
            return True
        return False

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        if self.start is None or self.end is None:
            return
        box = pixel_box(self.start, self.end, canvas.image_size)
        p0 = QPointF(*canvas.viewport.to_screen(box.x, box.y))
        p1 = QPointF(*canvas.viewport.to_screen(box.x1, box.y1))
        pen = QPen(QColor(255, 210, 0), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 210, 0, 40))
        painter.drawRect(QRectF(p0, p1))

    def _update(self) -> None:
        if self.canvas is not None:
            self.canvas.update()


class RectTool(DragBoxTool):
    """Drag out a rectangle; ``on_done((x, y, w, h))`` gets it in level-0 pixels."""

    name = "Rectangle"

    def __init__(self, on_done: Callable[[tuple[int, int, int, int]], None]) -> None:
        super().__init__()
        self.on_done = on_done

    def done(self, box: Box) -> None:
        self.on_done((box.x, box.y, box.w, box.h))
