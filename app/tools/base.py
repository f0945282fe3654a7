"""What every annotation tool shares: its context, pixel conventions and registration.

The canvas shows level-0 pixel ``(col, row)`` over the square
``[col, col + 1) x [row, row + 1)``; segcore puts a pixel's *centre* at
``(col, row)``. :meth:`AnnotationTool.point` converts an event to segcore's
coordinates (half a pixel less), :meth:`AnnotationTool.pixel` to the pixel under
the cursor.

A tool registers itself beside its class with :func:`register_tool` and a
:class:`ToolSpec` (key, text, shortcut, tip, how to make it, its icon, its group);
:func:`registered_tools` imports every module of :mod:`app.tools` once and
returns them in tool-bar order, so a new tool is one new module.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF

from app.canvas.tools import CanvasTool, ToolEvent

if TYPE_CHECKING:
    from app.canvas.view import CanvasView
    from app.tools.context import AnnotationContext

# Tool-bar groups, in order; a separator follows each group.
GROUPS = ("paint", "shapes", "regions", "pick", "instances")


@dataclass(frozen=True)
class ToolSpec:
    """An annotation tool as the tool bar shows it.

    ``make(ctx)`` builds the tool; ``icon(painter)`` draws its icon on a 64 x 64
    canvas (helpers in :mod:`app.tools.tool_icons`); ``group`` is one of
    :data:`GROUPS`.
    """

    key: str
    text: str
    shortcut: str
    tip: str
    make: Callable[[AnnotationContext], CanvasTool]
    icon: Callable[[QPainter], None]
    group: str


_TOOLS: dict[str, ToolSpec] = {}
_loaded = False


def register_tool(spec: ToolSpec) -> ToolSpec:
    """Add ``spec`` to the tool bar; a second tool with the same key is refused."""
    if spec.key in _TOOLS:
        raise ValueError(f"a tool {spec.key!r} is already registered")
    if spec.group not in GROUPS:
        raise ValueError(f"tool {spec.key!r}: group {spec.group!r} is not one of {GROUPS}")
    _TOOLS[spec.key] = spec
    return spec


def registered_tools() -> tuple[ToolSpec, ...]:
    """Every tool, by group, then in the order registered (modules are imported by name)."""
    global _loaded
    if not _loaded:
        _loaded = True
        import app.tools as package

        for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
            importlib.import_module(f"{package.__name__}.{module}")
    return tuple(sorted(_TOOLS.values(), key=lambda spec: GROUPS.index(spec.group)))


Point = tuple[float, float]
FEEDBACK = QColor(255, 210, 0)  # rubber bands, outlines being drawn
CLOSE_PX = 8.0  # screen pixels: a click this close to the first vertex closes a polygon


class AnnotationTool(CanvasTool):
    """Base of the annotation tools: keeps the context, converts coordinates."""

    name = "Tool"
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, ctx: AnnotationContext) -> None:
        super().__init__()
        self.ctx = ctx

    @staticmethod
    def point(event: ToolEvent) -> Point:
        """The event in segcore coordinates (pixel centres on integers)."""
        return event.x - 0.5, event.y - 0.5

    @staticmethod
    def pixel(event: ToolEvent) -> tuple[int, int]:
        """(col, row) of the pixel under the cursor (may lie outside the image)."""
        return math.floor(event.x), math.floor(event.y)

    def inside(self, col: int, row: int) -> bool:
        w, h = self.canvas.image_size if self.canvas is not None else (0, 0)
        return 0 <= col < w and 0 <= row < h

    def repaint(self) -> None:
        if self.canvas is not None:
            self.canvas.update()


class ClickTool(AnnotationTool, ABC):
    """A tool that acts on the pixel under a left click."""

    def press(self, event: ToolEvent) -> bool:
        if event.button != Qt.MouseButton.LeftButton:
            return False
        col, row = self.pixel(event)
        if self.inside(col, row):
            self.click(col, row, event)
        return True

    def release(self, event: ToolEvent) -> bool:
        return True

    @abstractmethod
    def click(self, col: int, row: int, event: ToolEvent) -> None:
        """Act on level-0 pixel (col, row), which lies inside the image."""


def screen_points(canvas: CanvasView, points: list[Point]) -> QPolygonF:
    """Segcore points (pixel centres) -> widget coordinates."""
    to_screen = canvas.viewport.to_screen
    return QPolygonF([QPointF(*to_screen(x + 0.5, y + 0.5)) for x, y in points])


def feedback_pen(color: QColor = FEEDBACK, width: float = 2.0) -> QPen:
    pen = QPen(
        color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )
    pen.setCosmetic(True)
    return pen


def draw_polyline(
    painter: QPainter,
    canvas: CanvasView,
    points: list[Point],
    *,
    color: QColor = FEEDBACK,
    closed: bool = False,
    width: float = 2.0,
) -> None:
    """A dark-backed line so it reads on bright and dark images alike."""
    if not points:
        return
    poly = screen_points(canvas, points)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for pen in (feedback_pen(QColor(0, 0, 0, 160), width + 2), feedback_pen(color, width)):
        painter.setPen(pen)
        if closed and len(points) > 2:
            painter.drawPolygon(poly)
        else:
            painter.drawPolyline(poly)
