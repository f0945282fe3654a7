"""Segment everything in view: the Segment Anything tool's proposals.

:class:`EverythingInView` (mixed into the tool) runs :func:`propose` in a job
slot on Shift+A and paints the proposals the user kept on Enter, each a new
object, in one undo step; :class:`ProposalSet` holds the proposals of one
window, draws them in one colour each, and drops the one under a right click.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from segcore.jobs import Job
from segcore.models.sam.runtime import Embedding
from segcore.prompt.commit import paint_window_masks
from segcore.prompt.everything import Proposal, propose
from segcore.prompt.geometry import Window
from segcore.prompt.session import PromptSession

PER_SIDE = 16  # clicks per side of the window (256 decoder runs)

if TYPE_CHECKING:
    from app.canvas.view import CanvasView
    from app.tools.segment_anything import SegmentAnythingTool


def everything_job(
    session: PromptSession, window: Window, embedding: Embedding
) -> Job[tuple[Window, list[Proposal]]]:
    """:func:`propose` on ``window``, returning the window with its proposals."""
    proposals = yield from propose(session, window, embedding, per_side=PER_SIDE)
    return window, proposals


class ProposalSet:
    """Proposals of one window, their picture cached until they change."""

    def __init__(self) -> None:
        self.items: list[Proposal] = []
        self.window: Window | None = None
        self._image: QImage | None = None

    def __bool__(self) -> bool:
        return bool(self.items)

    def set(self, items: list[Proposal], window: Window | None) -> None:
        self.items, self.window, self._image = items, window, None

    def drop_at(self, col: int, row: int) -> bool:
        """Drop every proposal covering level-0 pixel (col, row); True if one was."""
        w = self.window
        if w is None:
            return False
        u = math.floor((col + 0.5) / w.fx) - w.x
        v = math.floor((row + 0.5) / w.fy) - w.y
        if not (0 <= u < w.w and 0 <= v < w.h):
            return False
        kept = [p for p in self.items if not p.mask[v, u]]
        dropped = len(kept) != len(self.items)
        self.set(kept, w)
        return dropped

    def draw(self, painter: QPainter, canvas: CanvasView) -> None:
        w = self.window
        if not self.items or w is None:
            return
        if self._image is None:
            rgba = np.zeros((w.h, w.w, 4), np.uint8)
            for i, p in enumerate(self.items):
                c = QColor.fromHsvF((i * 0.618034) % 1.0, 0.8, 1.0)  # golden-angle hues
                rgba[p.mask] = (c.red(), c.green(), c.blue(), 110)
            self._image = QImage(rgba.data, w.w, w.h, 4 * w.w, QImage.Format.Format_RGBA8888).copy()
        a = canvas.viewport.to_screen(w.x * w.fx, w.y * w.fy)
        b = canvas.viewport.to_screen((w.x + w.w) * w.fx, (w.y + w.h) * w.fy)
        painter.drawImage(QRectF(QPointF(*a), QPointF(*b)), self._image)


class EverythingInView:
    """The tool's Shift+A / Enter behaviour for proposals (uses the tool's attributes)."""

    def segment_everything(self: SegmentAnythingTool) -> bool:
        """Shift+A: instance proposals on the view's window (right click drops one,
        Enter paints them all, Escape drops them all)."""
        session, window, embedding = self.session, self.window, self.embedding
        if session is None or window is None or embedding is None:
            self.ctx.status("Wait until the view is encoded, then press Shift+A again")
            return True
        if self._everything.running:
            self._everything.cancel()
            return True
        self.clear()
        self._everything.start(lambda: everything_job(session, window, embedding))
        return True

    def _proposed(self: SegmentAnythingTool, result: tuple[Window, list[Proposal]]) -> None:
        window, items = result
        self.proposals.set(items, window)
        self.repaint()
        self.ctx.status(
            f"{len(self.proposals.items)} proposals: right click drops one, Enter paints them all",
            8000,
        )

    def commit_proposals(self: SegmentAnythingTool) -> bool:
        editor, window = self.ctx.ready(), self.proposals.window
        class_id = self.ctx.class_id
        if editor is None or window is None:
            return True
        if class_id is None:
            self.ctx.status("Pick a class first (Classes dock or keys 1-9)")
            return True

        def paint_for() -> Any:  # in the worker; the editor is reserved for this action
            if editor.is_thing(class_id):
                editor.new_instance()
            return editor.paint_for(class_id)

        masks = [p.mask.copy() for p in self.proposals.items]
        self.ctx.run("segment_everything", paint_window_masks, window, masks, paint_for=paint_for)
        self.proposals.set([], None)
        self.repaint()
        return True
