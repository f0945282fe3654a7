"""The proposals of "segment everything in view" while the user sorts them.

Held by the Segment Anything tool: the proposals of one window, drawn in one
colour each, a right click drops the one under the cursor.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from segcore.jobs import Job
from segcore.models.sam.runtime import Embedding
from segcore.prompt.everything import Proposal, propose
from segcore.prompt.geometry import Window
from segcore.prompt.session import PromptSession

PER_SIDE = 16  # clicks per side of the window (256 decoder runs)

if TYPE_CHECKING:
    from app.canvas.view import CanvasView


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
