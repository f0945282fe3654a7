"""Brush and eraser: a stroke of disks that shows while drawn and commits on release.

The size is a diameter in image pixels (``[`` and ``]`` change it); the cursor
outline is drawn at that size, so it grows and shrinks with the zoom. Each
mouse move paints the segment from the last position (segcore paints every
pixel within the radius of the polyline, so fast strokes have no gaps) and
invalidates only that segment's box. Escape while drawing drops the stroke.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter

from app.canvas.tools import ToolEvent
from app.tools.base import AnnotationTool, Point, ToolSpec, feedback_pen, register_tool
from app.tools.tool_icons import ACCENT, icon_pen, icon_poly
from segcore.labels.edits.common import ERASE, Paint
from segcore.labels.edits.paint import paint_stroke

if TYPE_CHECKING:
    from app.canvas.view import CanvasView
    from app.tools.context import AnnotationContext


class BrushTool(AnnotationTool):
    """Paint the current class (or erase, with ``erase=True``) with a round brush."""

    def __init__(self, ctx: AnnotationContext, *, erase: bool = False) -> None:
        super().__init__(ctx)
        self.erase = erase
        self.name = "Eraser" if erase else "Brush"
        self.hover: tuple[float, float] | None = None  # event position (canvas image coords)
        self.last: Point | None = None  # last painted point (segcore coords), None between strokes
        self.paint_value: Paint | None = None

    # -- events ---------------------------------------------------------------

    def press(self, event: ToolEvent) -> bool:
        if event.button != Qt.MouseButton.LeftButton:
            return False
        self.hover = (event.x, event.y)
        if self.ctx.ready() is None:
            return True
        paint = ERASE if self.erase else self.ctx.paint()
        if paint is None or not self.ctx.begin(self.name.lower()):
            return True
        self.paint_value, self.last = paint, self.point(event)
        self.ctx.extend(paint_stroke, [self.last], radius=self.ctx.brush_radius, paint=paint)
        return True

    def move(self, event: ToolEvent) -> bool:
        self._move_outline(event.x, event.y)
        if self.last is None or self.paint_value is None:
            return False
        if not self.ctx.in_stroke:  # rolled back after an error
            self.last = None
            return True
        point = self.point(event)
        if point != self.last:
            self.ctx.extend(
                paint_stroke, [self.last, point], radius=self.ctx.brush_radius,
                paint=self.paint_value,
            )  # fmt: skip
            self.last = point
        return True

    def release(self, event: ToolEvent) -> bool:
        if self.last is None:
            return False
        self.last = None
        self.ctx.commit()
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.last is not None:
            self.last = None
            self.ctx.cancel()
            return True
        return False

    def activate(self, canvas: CanvasView) -> None:
        super().activate(canvas)
        canvas.hovered.connect(self._hovered)

    def deactivate(self) -> None:
        if self.last is not None:  # switching tools mid-stroke keeps what was drawn
            self.last = None
            self.ctx.commit()
        if self.canvas is not None:
            self.canvas.hovered.disconnect(self._hovered)
            self.canvas.update()
        self.hover = None
        super().deactivate()

    def _hovered(self, where: object) -> None:
        if where is None and self.hover is not None and self.last is None:
            self.hover = None  # the cursor left the image: no outline
            if self.canvas is not None:
                self.canvas.update()

    # -- outline ----------------------------------------------------------------

    def _outline_rect(self, canvas: CanvasView) -> QRect | None:
        if self.hover is None:
            return None
        sx, sy = canvas.viewport.to_screen(*self.hover)
        r = self.ctx.brush_radius * canvas.viewport.zoom + 4
        return QRectF(sx - r, sy - r, 2 * r, 2 * r).toAlignedRect()

    def _move_outline(self, x: float, y: float) -> None:
        canvas = self.canvas
        if canvas is None:
            return
        old = self._outline_rect(canvas)
        self.hover = (x, y)
        new = self._outline_rect(canvas)
        area = new if old is None else old.united(new) if new is not None else old
        if area is not None:
            canvas.update(area)

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        if self.hover is None:
            return
        sx, sy = canvas.viewport.to_screen(*self.hover)
        r = max(self.ctx.brush_radius * canvas.viewport.zoom, 1.5)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        color = QColor(255, 255, 255) if self.erase else self._class_color()
        for pen in (feedback_pen(QColor(0, 0, 0, 170), 3), feedback_pen(color, 1.5)):
            painter.setPen(pen)
            painter.drawEllipse(QPointF(sx, sy), r, r)
        if self.erase:  # a cross tells the eraser from the brush at a glance
            d = r * 0.5
            painter.drawLine(QPointF(sx - d, sy - d), QPointF(sx + d, sy + d))
            painter.drawLine(QPointF(sx - d, sy + d), QPointF(sx + d, sy - d))

    def _class_color(self) -> QColor:
        class_id = self.ctx.class_id
        info = self.ctx.class_info(class_id) if class_id is not None else None
        return QColor(*info.color) if info is not None else QColor(255, 210, 0)


def _brush_icon(p: QPainter) -> None:
    p.drawLine(QPointF(54, 10), QPointF(28, 36))
    p.setBrush(ACCENT)
    p.setPen(icon_pen(ACCENT, 3))
    p.drawEllipse(QRectF(10, 34, 22, 20))


register_tool(
    ToolSpec(
        key="brush",
        text="Brush",
        shortcut="B",
        tip="Paint the current class; [ and ] change the size",
        make=BrushTool,
        icon=_brush_icon,
        group="paint",
    )
)


def _eraser_icon(p: QPainter) -> None:
    p.setBrush(QColor(240, 150, 170))
    p.drawPolygon(icon_poly((10, 40), (34, 16), (54, 36), (30, 60)))
    p.drawLine(QPointF(22, 28), QPointF(42, 48))


register_tool(
    ToolSpec(
        key="eraser",
        text="Eraser",
        shortcut="E",
        tip="Erase labels back to unlabelled; [ and ] change the size",
        make=lambda ctx: BrushTool(ctx, erase=True),
        icon=_eraser_icon,
        group="paint",
    )
)
