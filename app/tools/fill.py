"""Flood fill: click a region of equal labels (class and instance) to repaint it.

Runs in a worker (a region can span many chunks). A fill larger than
:data:`MAX_FILL_PIXELS` is refused and rolled back: on a mostly unlabelled huge
image, clicking the background would otherwise label the whole image.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

from app.canvas.tools import ToolEvent
from app.tools.base import ClickTool, ToolSpec, register_tool
from app.tools.tool_icons import ACCENT, icon_pen, icon_poly
from segcore.labels.edits.fill import flood_fill

MAX_FILL_PIXELS = 64 * 1024 * 1024


class FillTool(ClickTool):
    """Click to fill the connected region under the cursor with the current class."""

    name = "Fill"

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        if self.ctx.ready() is None:
            return
        paint = self.ctx.paint()
        if paint is not None:
            self.ctx.run("fill", flood_fill, col, row, paint=paint, max_pixels=MAX_FILL_PIXELS)


def _fill_icon(p: QPainter) -> None:
    p.drawPolygon(icon_poly((14, 30), (32, 12), (50, 30), (32, 48)))
    p.setBrush(ACCENT)
    p.setPen(icon_pen(ACCENT, 2))
    p.drawEllipse(QRectF(46, 40, 12, 16))


register_tool(
    ToolSpec(
        key="fill",
        text="Fill",
        shortcut="F",
        tip="Click a region of equal labels to fill it",
        make=FillTool,
        icon=_fill_icon,
        group="regions",
    )
)
