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

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPen

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

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        """Draw feedback in widget coordinates (``canvas.viewport.to_screen``)."""


class RectTool(CanvasTool):
    """Drag out a rectangle; ``on_done((x, y, w, h))`` gets it in level-0 pixels."""

    name = "Rectangle"
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, on_done: Callable[[tuple[int, int, int, int]], None]) -> None:
        super().__init__()
        self.on_done = on_done
        self.start: tuple[float, float] | None = None
        self.end: tuple[float, float] | None = None

    def press(self, event: ToolEvent) -> bool:
        if event.button != Qt.MouseButton.LeftButton:
            return False
        self.start = self.end = (event.x, event.y)
        return True

    def move(self, event: ToolEvent) -> bool:
        if self.start is None:
            return False
        self.end = (event.x, event.y)
        if self.canvas is not None:
            self.canvas.update()
        return True

    def release(self, event: ToolEvent) -> bool:
        if self.start is None:
            return False
        rect = self.rect_between(self.start, (event.x, event.y))
        self.start = self.end = None
        if self.canvas is not None:
            self.canvas.update()
        if rect[2] > 0 and rect[3] > 0:
            self.on_done(rect)
        return True

    def rect_between(
        self, a: tuple[float, float], b: tuple[float, float]
    ) -> tuple[int, int, int, int]:
        """Integer (x, y, w, h) spanned by two image points, clipped to the image."""
        width, height = self.canvas.image_size if self.canvas is not None else (1 << 31,) * 2
        x0, x1 = sorted((min(max(a[0], 0), width), min(max(b[0], 0), width)))
        y0, y1 = sorted((min(max(a[1], 0), height), min(max(b[1], 0), height)))
        x0, y0 = int(x0), int(y0)
        return x0, y0, int(round(x1)) - x0, int(round(y1)) - y0

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        if self.start is None or self.end is None:
            return
        p0 = QPointF(*canvas.viewport.to_screen(*self.start))
        p1 = QPointF(*canvas.viewport.to_screen(*self.end))
        pen = QPen(QColor(255, 210, 0), 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 210, 0, 40))
        painter.drawRect(QRectF(p0, p1).normalized())
