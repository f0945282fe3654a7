"""3-D fill: click a region of equal labels on a volume's slice to repaint it through the
slices it connects to (6-connected), as one undoable action.

Runs in a worker like the 2-D fill, with the same cap (:data:`MAX_FILL_VOXELS`).
On a 2-D image it is the 2-D fill of a single slice.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

from app.canvas.tools import ToolEvent
from app.tools.base import ClickTool, ToolSpec, register_tool
from app.tools.tool_icons import ACCENT, icon_pen, icon_poly
from segcore.labels.edits.volume import fill_3d

MAX_FILL_VOXELS = 64 * 1024 * 1024


class Fill3DTool(ClickTool):
    """Click to fill the 3-D connected region under the cursor with the current class."""

    name = "3-D Fill"

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        if self.ctx.ready() is None:
            return
        paint = self.ctx.paint()
        if paint is not None:
            self.ctx.run("3-D fill", fill_3d, col, row, paint=paint, max_voxels=MAX_FILL_VOXELS)


def _fill3d_icon(p: QPainter) -> None:
    p.drawPolygon(icon_poly((10, 34), (28, 16), (46, 34), (28, 52)))
    p.drawPolygon(icon_poly((20, 24), (38, 6), (56, 24), (38, 42)))
    p.setBrush(ACCENT)
    p.setPen(icon_pen(ACCENT, 2))
    p.drawEllipse(QRectF(46, 42, 12, 16))


register_tool(
    ToolSpec(
        key="fill3d",
        text="3-D Fill",
        shortcut="Shift+F",
        tip="Click a region of equal labels to fill it through the slices of a volume",
        make=Fill3DTool,
        icon=_fill3d_icon,
        group="regions",
    )
)
