"""Flood fill: click a region of equal labels (class and instance) to repaint it.

Runs in a worker (a region can span many chunks). A fill larger than
:data:`MAX_FILL_PIXELS` is refused and rolled back: on a mostly unlabelled huge
image, clicking the background would otherwise label the whole image.
"""

from __future__ import annotations

from app.canvas.tools import ToolEvent
from app.tools.base import ClickTool
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
