"""Polygon, lasso and rectangle: outline a region, then fill it with the current class.

* Polygon: click each vertex; click the first vertex again, press Enter or
  right-click to close; Backspace removes the last vertex, Escape drops it.
* Lasso: drag around the region; it closes on release.
* Rectangle: drag from one corner to the other; every pixel the box touches is filled.

With a thing class each shape starts a new instance (one outline, one object).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPainterPath

from app.canvas.tools import DragBoxTool, ToolEvent
from app.tools.base import (
    CLOSE_PX,
    AnnotationTool,
    Point,
    ToolSpec,
    draw_polyline,
    feedback_pen,
    register_tool,
    screen_points,
)
from app.tools.tool_icons import ACCENT, icon_pen, icon_poly
from segcore.labels.box import Box
from segcore.labels.edits.paint import paint_lasso, paint_polygon, paint_rectangle

if TYPE_CHECKING:
    from app.canvas.view import CanvasView
    from app.tools.context import AnnotationContext


class PolygonTool(AnnotationTool):
    """Click vertices; close to fill."""

    name = "Polygon"

    def __init__(self, ctx: AnnotationContext) -> None:
        super().__init__(ctx)
        self.vertices: list[Point] = []
        self.hover: Point | None = None

    def press(self, event: ToolEvent) -> bool:
        if event.button == Qt.MouseButton.RightButton and self.vertices:
            self.close()
            return True
        if event.button != Qt.MouseButton.LeftButton:
            return False
        if len(self.vertices) >= 3 and self._near_first(event):
            self.close()
        elif not self.vertices or self.point(event) != self.vertices[-1]:
            self.vertices.append(self.point(event))
        self.repaint()
        return True

    def move(self, event: ToolEvent) -> bool:
        self.hover = self.point(event)
        if self.vertices:
            self.repaint()
        return bool(self.vertices)

    def release(self, event: ToolEvent) -> bool:
        return True

    def key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.vertices:
            self.close()
        elif key == Qt.Key.Key_Escape and self.vertices:
            self.vertices.clear()
        elif key == Qt.Key.Key_Backspace and self.vertices:
            self.vertices.pop()
        else:
            return False
        self.repaint()
        return True

    def close(self) -> None:
        """Fill the polygon drawn so far (needs three vertices)."""
        points, self.vertices = self.vertices, []
        self.repaint()
        if len(points) < 3:
            self.ctx.status("A polygon needs at least three vertices")
            return
        if self.ctx.ready() is None:
            return
        paint = self.ctx.paint(new_instance=True)
        if paint is not None:
            self.ctx.run("polygon", paint_polygon, points, paint=paint)

    def deactivate(self) -> None:
        self.vertices.clear()
        super().deactivate()

    def _near_first(self, event: ToolEvent) -> bool:
        if self.canvas is None:
            return False
        fx, fy = self.canvas.viewport.to_screen(
            self.vertices[0][0] + 0.5, self.vertices[0][1] + 0.5
        )
        return math.hypot(event.sx - fx, event.sy - fy) <= CLOSE_PX

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        if not self.vertices:
            return
        points = self.vertices + ([self.hover] if self.hover is not None else [])
        if len(points) >= 3:  # a faint preview of what closing would fill
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 210, 0, 45))
            painter.drawPolygon(screen_points(canvas, points))
        draw_polyline(painter, canvas, points)
        painter.setPen(feedback_pen(QColor(0, 0, 0), 1))
        painter.setBrush(QColor(255, 210, 0))
        for x, y in self.vertices:
            sx, sy = canvas.viewport.to_screen(x + 0.5, y + 0.5)
            painter.drawEllipse(QPointF(sx, sy), 3.5, 3.5)


class LassoTool(AnnotationTool):
    """Drag a freehand outline; released, it is filled."""

    name = "Lasso"

    def __init__(self, ctx: AnnotationContext) -> None:
        super().__init__(ctx)
        self.points: list[Point] = []

    def press(self, event: ToolEvent) -> bool:
        if event.button != Qt.MouseButton.LeftButton:
            return False
        self.points = [self.point(event)]
        return True

    def move(self, event: ToolEvent) -> bool:
        if not self.points:
            return False
        point = self.point(event)
        last = self.points[-1]
        zoom = self.canvas.viewport.zoom if self.canvas is not None else 1.0
        if math.hypot(point[0] - last[0], point[1] - last[1]) * zoom >= 2.0:  # 2 screen px
            self.points.append(point)
            self.repaint()
        return True

    def release(self, event: ToolEvent) -> bool:
        if not self.points:
            return False
        self.points.append(self.point(event))
        points, self.points = self.points, []
        self.repaint()
        if len(points) < 3:
            return True
        if self.ctx.ready() is None:
            return True
        paint = self.ctx.paint(new_instance=True)
        if paint is not None:
            self.ctx.run("lasso", paint_lasso, points, paint=paint)
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.points:
            self.points = []
            self.repaint()
            return True
        return False

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        draw_polyline(painter, canvas, self.points)


class BoxDragTool(AnnotationTool, DragBoxTool, ABC):
    """Drag a box in image pixels; subclasses act on it in :meth:`done`."""

    @abstractmethod
    def done(self, box: Box) -> None:
        """Act on the dragged box (level-0 pixels, inside the image, not empty)."""


class RectangleTool(BoxDragTool):
    """Drag a rectangle; every pixel it touches gets the current class."""

    name = "Rectangle"

    def done(self, box: Box) -> None:
        if self.ctx.ready() is None:
            return
        paint = self.ctx.paint(new_instance=True)
        if paint is not None:
            self.ctx.run("rectangle", paint_rectangle, box, paint=paint)


def _polygon_icon(p: QPainter) -> None:
    corners = ((12, 50), (20, 12), (52, 20), (46, 54))
    p.drawPolygon(icon_poly(*corners))
    p.setBrush(ACCENT)
    p.setPen(icon_pen(ACCENT, 2))
    for x, y in corners:
        p.drawEllipse(QPointF(x, y), 5, 5)


register_tool(
    ToolSpec(
        key="polygon",
        text="Polygon",
        shortcut="P",
        tip="Click vertices; click the first one, Enter or right-click to fill",
        make=PolygonTool,
        icon=_polygon_icon,
        group="shapes",
    )
)


def _lasso_icon(p: QPainter) -> None:
    p.drawEllipse(QRectF(10, 10, 44, 30))
    path = QPainterPath(QPointF(22, 38))
    path.cubicTo(14, 48, 30, 52, 24, 60)
    p.drawPath(path)


register_tool(
    ToolSpec(
        key="lasso",
        text="Lasso",
        shortcut="L",
        tip="Drag around a region to fill it",
        make=LassoTool,
        icon=_lasso_icon,
        group="shapes",
    )
)


def _rectangle_icon(p: QPainter) -> None:
    p.setBrush(QColor(90, 170, 255, 90))
    p.drawRect(QRectF(10, 14, 44, 36))


register_tool(
    ToolSpec(
        key="rectangle",
        text="Rectangle",
        shortcut="R",
        tip="Drag a rectangle to fill it",
        make=RectangleTool,
        icon=_rectangle_icon,
        group="shapes",
    )
)
