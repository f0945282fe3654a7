"""Point-and-click segmentation: magic wand, GrabCut box, watershed scribbles,
superpixel click and accepting the model's segment.

Each reads a bounded window of the image around the click (through the canvas
image layer, so reads of non-thread-safe files stay serialised) and runs in a
worker: the window stays responsive while OpenCV or scikit-image work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPainterPath

from app.canvas.tools import ToolEvent
from app.tools.base import AnnotationTool, ClickTool, Point, ToolSpec, draw_polyline, register_tool
from app.tools.shapes import BoxDragTool
from app.tools.tool_icons import ACCENT, INK, WARM, icon_pen, icon_poly
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.labels.edits.smart import (
    Scribble,
    accept_prediction,
    grabcut,
    magic_wand,
    superpixel,
    watershed_scribbles,
)

if TYPE_CHECKING:
    from app.canvas.view import CanvasView
    from app.tools.context import AnnotationContext

BACKGROUND_SCRIBBLE = QColor(200, 200, 200)
# segcore scales the window to [0, 1] before SLIC, so colour distances are below ~1;
# skimage's usual compactness (10, meant for Lab colour) would make plain squares.
SLIC_COMPACTNESS = 0.1
SCRIBBLE_WIDTH = 3.0  # image pixels marked by a scribble (watershed_scribbles' default)


class WandTool(ClickTool):
    """Fill the connected pixels whose colour is within the tolerance of the clicked one."""

    name = "Magic Wand"

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        if self.ctx.ready() is None:
            return
        paint = self.ctx.paint()
        if paint is not None:
            image = self.ctx.image_source()
            self.ctx.run(
                "magic_wand", magic_wand, image, col, row, paint=paint,
                tolerance=self.ctx.tolerance,
            )  # fmt: skip


class GrabCutTool(BoxDragTool):
    """Drag a box around one object; GrabCut separates it from the background."""

    name = "GrabCut"

    def done(self, box: Box) -> None:
        if box.w < 3 or box.h < 3:
            self.ctx.status("Drag a larger box around the object")
            return
        if self.ctx.ready() is None:
            return
        paint = self.ctx.paint(new_instance=True)
        if paint is not None:
            self.ctx.run("grabcut", grabcut, self.ctx.image_source(), box, paint=paint)


class SuperpixelTool(ClickTool):
    """Click to label the SLIC superpixel under the cursor."""

    name = "Superpixel"

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        if self.ctx.ready() is None:
            return
        paint = self.ctx.paint()
        if paint is not None:
            self.ctx.run(
                "superpixel", superpixel, self.ctx.image_source(), col, row, paint=paint,
                compactness=SLIC_COMPACTNESS,
            )  # fmt: skip


class AcceptPredictionTool(ClickTool):
    """Click a segment of the model's prediction to copy it, with its class, into the labels."""

    name = "Accept Prediction"

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        editor = self.ctx.ready()
        if editor is None:
            return
        prediction = self.ctx.prediction_source()
        if prediction is None:
            self.ctx.status("Run a model first (Model > Run on Visible Area)")
            return

        def paint_for(class_id: int) -> Paint:
            # Runs in the worker; the editor is reserved for this action meanwhile.
            if editor.is_thing(class_id):
                editor.new_instance()
            return editor.paint_for(class_id)

        self.ctx.run(
            "accept_prediction", accept_prediction, prediction, col, row, paint_for=paint_for
        )


@dataclass
class _Stroke:
    points: list[Point]
    paint: Paint | None  # None: background
    color: QColor


class WatershedTool(AnnotationTool):
    """Scribble on objects (left button, current class) and on background (right button
    or Shift); Enter grows every scribble over the image edges (watershed); Escape clears.
    """

    name = "Watershed Scribbles"
    margin = 32  # pixels around the scribbles the regions may grow into (at least)

    def __init__(self, ctx: AnnotationContext) -> None:
        super().__init__(ctx)
        self.strokes: list[_Stroke] = []
        self.drawing: _Stroke | None = None

    def press(self, event: ToolEvent) -> bool:
        background = event.button == Qt.MouseButton.RightButton or bool(
            event.modifiers & Qt.KeyboardModifier.ShiftModifier
        )
        if event.button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        if background:
            self.drawing = _Stroke([self.point(event)], None, BACKGROUND_SCRIBBLE)
        else:
            if self.ctx.editor is None:
                self.ctx.ready()  # says why nothing happens
                return True
            paint = self.ctx.paint()
            if paint is None:
                return True
            info = self.ctx.class_info(paint.class_id)
            color = QColor(*info.color) if info is not None else QColor(255, 210, 0)
            self.drawing = _Stroke([self.point(event)], paint, color)
        self.repaint()
        return True

    def move(self, event: ToolEvent) -> bool:
        if self.drawing is None:
            return False
        self.drawing.points.append(self.point(event))
        self.repaint()
        return True

    def release(self, event: ToolEvent) -> bool:
        if self.drawing is None:
            return False
        self.strokes.append(self.drawing)
        self.drawing = None
        has_fg = any(s.paint is not None for s in self.strokes)
        has_bg = any(s.paint is None for s in self.strokes)
        if has_fg and not has_bg:
            self.ctx.status("Now scribble on the background (right button or Shift), then Enter")
        elif has_fg:
            self.ctx.status("Press Enter to grow the scribbles, Escape to clear them", 6000)
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.strokes:
            self.apply()
            return True
        if event.key() == Qt.Key.Key_Escape and self.strokes:
            self.strokes.clear()
            self.repaint()
            return True
        return False

    def region(self) -> Box:
        """Where the scribbles may grow: their bounding box plus a margin."""
        xs = [p[0] for s in self.strokes for p in s.points]
        ys = [p[1] for s in self.strokes for p in s.points]
        box = Box.from_bounds(int(min(xs)), int(min(ys)), int(max(xs)) + 2, int(max(ys)) + 2)
        margin = max(self.margin, max(box.w, box.h) // 4)
        size = self.canvas.image_size if self.canvas is not None else (box.x1, box.y1)
        return box.pad(margin).clip(*size)

    def apply(self) -> None:
        """Run the watershed from the scribbles drawn so far."""
        if not any(s.paint is not None for s in self.strokes):
            self.ctx.status("Scribble on an object with the left button first")
            return
        if len(self.strokes) < 2:
            self.ctx.status("Scribble on the background too (right button or Shift)")
            return
        if self.ctx.ready() is None:
            return
        scribbles = [Scribble(list(s.points), s.paint) for s in self.strokes]
        region = self.region()
        self.strokes = []
        self.repaint()
        self.ctx.run(
            "watershed", watershed_scribbles, self.ctx.image_source(), region, scribbles,
            width=SCRIBBLE_WIDTH,
        )  # fmt: skip

    def deactivate(self) -> None:
        self.strokes.clear()
        self.drawing = None
        super().deactivate()

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        width = max(3.0, SCRIBBLE_WIDTH * canvas.viewport.zoom)  # as wide as the marker
        for stroke in [*self.strokes, *([self.drawing] if self.drawing else [])]:
            draw_polyline(painter, canvas, stroke.points, color=stroke.color, width=width)


def _wand_icon(p: QPainter) -> None:
    p.drawLine(QPointF(12, 54), QPointF(40, 26))
    p.setPen(icon_pen(WARM, 4))
    for a, b in (((46, 8), (46, 18)), ((41, 13), (51, 13)), ((54, 24), (58, 28))):
        p.drawLine(QPointF(*a), QPointF(*b))


register_tool(
    ToolSpec(
        key="wand",
        text="Magic Wand",
        shortcut="W",
        tip="Click to fill connected pixels of similar colour (tolerance in the tool bar)",
        make=WandTool,
        icon=_wand_icon,
        group="regions",
    )
)


def _grabcut_icon(p: QPainter) -> None:
    p.setPen(icon_pen(INK, 3, Qt.PenStyle.DashLine))
    p.drawRect(QRectF(8, 8, 48, 48))
    p.setBrush(ACCENT)
    p.setPen(icon_pen(ACCENT, 2))
    p.drawEllipse(QRectF(18, 20, 28, 26))


register_tool(
    ToolSpec(
        key="grabcut",
        text="GrabCut",
        shortcut="G",
        tip="Drag a box around an object to segment it",
        make=GrabCutTool,
        icon=_grabcut_icon,
        group="regions",
    )
)


def _watershed_icon(p: QPainter) -> None:
    p.setPen(icon_pen(ACCENT, 5))
    path = QPainterPath(QPointF(12, 22))
    path.cubicTo(20, 12, 28, 32, 36, 20)
    p.drawPath(path)
    p.setPen(icon_pen(INK, 5))
    path = QPainterPath(QPointF(24, 50))
    path.cubicTo(34, 40, 42, 58, 54, 44)
    p.drawPath(path)


register_tool(
    ToolSpec(
        key="watershed",
        text="Watershed Scribbles",
        shortcut="S",
        tip="Scribble on objects (left) and background (right or Shift); Enter grows them",
        make=WatershedTool,
        icon=_watershed_icon,
        group="regions",
    )
)


def _superpixel_icon(p: QPainter) -> None:
    p.setPen(icon_pen(INK, 3))
    p.drawPolyline(icon_poly((8, 26), (24, 22), (34, 8)))
    p.drawPolyline(icon_poly((24, 22), (30, 42), (8, 46)))
    p.drawPolyline(icon_poly((30, 42), (56, 36)))
    p.drawPolyline(icon_poly((30, 42), (36, 58)))
    p.setBrush(QColor(90, 170, 255, 150))
    p.setPen(icon_pen(ACCENT, 3))
    p.drawPolygon(icon_poly((24, 22), (34, 8), (56, 12), (56, 36), (30, 42)))


register_tool(
    ToolSpec(
        key="superpixel",
        text="Superpixel",
        shortcut="X",
        tip="Click to label the superpixel under the cursor",
        make=SuperpixelTool,
        icon=_superpixel_icon,
        group="regions",
    )
)


def _accept_icon(p: QPainter) -> None:
    p.setBrush(QColor(90, 170, 255, 90))
    p.setPen(icon_pen(ACCENT, 3))
    p.drawEllipse(QRectF(6, 10, 40, 36))
    p.setPen(icon_pen(QColor(110, 220, 120), 6))
    p.drawPolyline(icon_poly((26, 40), (36, 52), (58, 22)))


register_tool(
    ToolSpec(
        key="accept",
        text="Accept Prediction",
        shortcut="A",
        tip="Click a segment of the model's prediction to copy it into the labels",
        make=AcceptPredictionTool,
        icon=_accept_icon,
        group="regions",
    )
)
