"""Instance tools: select, merge, split along a drawn line, delete.

* Select: click an object; its class and instance become current, so the
  brush and fill extend it.
* Merge: click the object to keep, then each object to merge into it
  (every merge is its own undo step); Escape starts over.
* Split: drag a line across an object; each separated part becomes an instance.
* Delete: click an object to remove it (its pixels become unlabelled).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QKeyEvent, QPainter

from app.canvas.tools import ToolEvent
from app.tools.base import AnnotationTool, ClickTool, Point, ToolSpec, draw_polyline, register_tool
from app.tools.tool_icons import ACCENT, INK, RED, icon_pen, icon_poly
from segcore.labels.box import Box
from segcore.labels.edits.instances import delete_instance, merge_instances, split_instance
from segcore.labels.schema import NO_INSTANCE

if TYPE_CHECKING:
    from app.canvas.view import CanvasView
    from app.tools.context import AnnotationContext


def _describe(ctx: AnnotationContext, class_id: int, instance_id: int) -> str:
    info = ctx.class_info(class_id)
    return f"{info.name if info else f'class {class_id}'} #{instance_id}"


class SelectTool(ClickTool):
    """Click an object to make it (and its class) current."""

    name = "Select Instance"
    cursor = Qt.CursorShape.PointingHandCursor

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        editor = self.ctx.ready()
        if editor is None:
            return
        class_id, instance_id = self.ctx.labels_at(col, row)
        if instance_id == NO_INSTANCE:
            self.ctx.status("No object here")
            return
        self.ctx.use_instance(col, row)
        self.ctx.status(f"Selected {_describe(self.ctx, class_id, instance_id)}")


class MergeTool(ClickTool):
    """First click: the object to keep; next clicks: objects merged into it."""

    name = "Merge Instances"
    cursor = Qt.CursorShape.PointingHandCursor

    def __init__(self, ctx: AnnotationContext) -> None:
        super().__init__(ctx)
        self.target: int | None = None

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        if self.ctx.ready() is None:
            return
        class_id, instance_id = self.ctx.labels_at(col, row)
        if instance_id == NO_INSTANCE:
            self.ctx.status("No object here")
            return
        if self.target is None or self.target == instance_id:
            self.target = instance_id
            self.ctx.status(
                f"Merging into {_describe(self.ctx, class_id, instance_id)}: click the objects "
                "to merge into it (Escape: start over)", 0,
            )  # fmt: skip
            return
        self.ctx.run(
            "merge", merge_instances, [self.target, instance_id], into=self.target,
            near=(col, row),
        )  # fmt: skip

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.target is not None:
            self.target = None
            self.ctx.status("Click the object to merge into", 3000)
            return True
        return False

    def deactivate(self) -> None:
        self.target = None
        super().deactivate()


class SplitTool(AnnotationTool):
    """Drag a line across an object to cut it in two (or more)."""

    name = "Split Instance"

    def __init__(self, ctx: AnnotationContext) -> None:
        super().__init__(ctx)
        self.line: list[Point] = []

    def press(self, event: ToolEvent) -> bool:
        if event.button != Qt.MouseButton.LeftButton:
            return False
        self.line = [self.point(event)]
        return True

    def move(self, event: ToolEvent) -> bool:
        if not self.line:
            return False
        self.line.append(self.point(event))
        self.repaint()
        return True

    def release(self, event: ToolEvent) -> bool:
        if not self.line:
            return False
        line = [*self.line, self.point(event)]
        self.line = []
        self.repaint()
        if self.ctx.ready() is None:
            return True
        target = self._instance_under(line)
        if target is None:
            self.ctx.status("Draw the line across an object")
            return True
        instance_id, near = target
        self.ctx.run("split", split_instance, instance_id, line, near=near)
        return True

    def _instance_under(self, line: list[Point]) -> tuple[int, tuple[int, int]] | None:
        """The instance most of the line crosses, and one of its pixels on the line."""
        size = self.canvas.image_size if self.canvas is not None else (0, 0)
        counts: Counter[int] = Counter()
        where: dict[int, tuple[int, int]] = {}
        for a, b in zip(line[:-1], line[1:], strict=True):
            steps = max(1, int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))))
            for k in range(steps + 1):
                col = round(a[0] + (b[0] - a[0]) * k / steps)
                row = round(a[1] + (b[1] - a[1]) * k / steps)
                if 0 <= col < size[0] and 0 <= row < size[1]:
                    inst = self.ctx.labels_at(col, row)[1]
                    if inst != NO_INSTANCE:
                        counts[inst] += 1
                        where.setdefault(inst, (col, row))
        if not counts:
            return None
        instance_id = counts.most_common(1)[0][0]
        return instance_id, where[instance_id]

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.line:
            self.line = []
            self.repaint()
            return True
        return False

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        draw_polyline(painter, canvas, self.line)


class DeleteTool(ClickTool):
    """Click an object to delete it."""

    name = "Delete Instance"
    cursor = Qt.CursorShape.PointingHandCursor

    def click(self, col: int, row: int, event: ToolEvent) -> None:
        if self.ctx.ready() is None:
            return
        class_id, instance_id = self.ctx.labels_at(col, row)
        if instance_id == NO_INSTANCE:
            self.ctx.status("No object here")
            return
        what = _describe(self.ctx, class_id, instance_id)

        def done(box: Box) -> None:
            self.ctx.status(f"Deleted {what}", 3000)

        self.ctx.run("delete", delete_instance, instance_id, near=(col, row), after=done)


def _select_icon(p: QPainter) -> None:
    p.setBrush(INK)
    p.setPen(icon_pen(INK, 2))
    p.drawPolygon(icon_poly((16, 8), (16, 48), (26, 38), (34, 56), (40, 53), (32, 36), (46, 36)))


register_tool(
    ToolSpec(
        key="select",
        text="Select Instance",
        shortcut="V",
        tip="Click an object to make it the current instance",
        make=SelectTool,
        icon=_select_icon,
        group="instances",
    )
)


def _merge_icon(p: QPainter) -> None:
    p.drawEllipse(QRectF(6, 16, 30, 30))
    p.drawEllipse(QRectF(28, 16, 30, 30))
    p.setPen(icon_pen(ACCENT, 5))
    p.drawLine(QPointF(32, 22), QPointF(32, 40))


register_tool(
    ToolSpec(
        key="merge",
        text="Merge Instances",
        shortcut="M",
        tip="Click the object to keep, then the objects to merge into it",
        make=MergeTool,
        icon=_merge_icon,
        group="instances",
    )
)


def _split_icon(p: QPainter) -> None:
    p.drawEllipse(QRectF(10, 12, 44, 40))
    p.setPen(icon_pen(RED, 4, Qt.PenStyle.DashLine))
    p.drawLine(QPointF(40, 4), QPointF(24, 60))


register_tool(
    ToolSpec(
        key="split",
        text="Split Instance",
        shortcut="K",
        tip="Drag a line across an object to cut it",
        make=SplitTool,
        icon=_split_icon,
        group="instances",
    )
)


def _delete_icon(p: QPainter) -> None:
    p.drawEllipse(QRectF(8, 10, 36, 36))
    p.setPen(icon_pen(RED, 6))
    p.drawLine(QPointF(36, 36), QPointF(56, 56))
    p.drawLine(QPointF(56, 36), QPointF(36, 56))


register_tool(
    ToolSpec(
        key="delete",
        text="Delete Instance",
        shortcut="Del",
        tip="Click an object to delete it",
        make=DeleteTool,
        icon=_delete_icon,
        group="instances",
    )
)
