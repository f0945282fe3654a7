"""Eyedropper: click a labelled pixel to make its class (and instance) current."""

from __future__ import annotations

from app.canvas.tools import ToolEvent
from app.tools.base import ClickTool
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
