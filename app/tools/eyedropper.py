"""Eyedropper: click a labelled pixel to make its class (and instance) current."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainter

from app.canvas.tools import ToolEvent
from app.tools.base import ClickTool, ToolSpec, register_tool
from app.tools.tool_icons import INK, icon_poly
from segcore.labels.schema import NO_INSTANCE, UNLABELLED


class EyedropperTool(ClickTool):
    """Pick the class under the cursor; a thing's instance becomes the current one."""

    name = "Eyedropper"

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        editor = self.ctx.editor
        if editor is None:
            self.ctx.status("Open an image of a project to pick its labels")
            return
        class_id, instance_id = self.ctx.labels_at(col, row)
        if class_id == UNLABELLED:
            self.ctx.status(f"Pixel ({col}, {row}) is unlabelled")
            return
        if not self.ctx.set_class(class_id):
            self.ctx.status(f"Class {class_id} is not one of the project's classes")
            return
        if instance_id != NO_INSTANCE:
            self.ctx.use_instance(col, row)
        info = self.ctx.class_info(class_id)
        name = info.name if info is not None else str(class_id)
        extra = f", instance {instance_id}" if instance_id != NO_INSTANCE else ""
        self.ctx.status(f"Picked {name}{extra}")


def _eyedropper_icon(p: QPainter) -> None:
    p.drawLine(QPointF(12, 52), QPointF(38, 26))
    p.setBrush(INK)
    p.drawPolygon(icon_poly((34, 22), (46, 10), (54, 18), (42, 30)))


register_tool(
    ToolSpec(
        key="eyedropper",
        text="Eyedropper",
        shortcut="I",
        tip="Click a label to make its class current",
        make=EyedropperTool,
        icon=_eyedropper_icon,
        group="pick",
    )
)
