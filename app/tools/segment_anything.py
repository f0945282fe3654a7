"""Segment Anything: click objects, get masks from a promptable (SAM-family) model.

Left click adds a point on the object, right click (or Shift + click) a point
on the background, a left drag a box. The mask preview follows each prompt;
Tab cycles the model's mask candidates, Backspace drops the last point,
Escape clears, Enter paints the mask as a new object of the current class
(one undo step, journalled, through :meth:`AnnotationContext.run`). Shift+A
proposes every object of the view's window (right click drops a proposal,
Enter paints them all as one undo step, Escape drops them). Shift+P
precomputes the embeddings of the view's level for the whole image.

The encoder runs on a window of the pyramid level that matches the view,
in the tool's job slot, as soon as the view settles; the decoder runs on the
GUI thread (milliseconds). Embeddings are cached on disk
(:mod:`segcore.prompt.embeddings`), so a view seen before answers at once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter

from app.canvas.tools import ToolEvent
from app.tools.base import AnnotationTool, ToolSpec, feedback_pen, register_tool
from app.tools.sam_proposals import EverythingInView, ProposalSet
from app.tools.tool_icons import ACCENT, INK, icon_pen
from segcore.errors import TesseraError
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.prompt.commit import paint_window_mask
from segcore.prompt.geometry import Window
from segcore.prompt.refine import Refined, paint_refined, refine_coarser
from segcore.prompt.session import Prediction, Prompts, PromptSession

if TYPE_CHECKING:
    from app.canvas.view import CanvasView
    from app.tools.context import AnnotationContext
    from segcore.models.sam.runtime import Embedding

SETTLE_MS = 300  # the view is still this long: encode the window it shows
DRAG_PX = 5.0  # screen pixels a press must move to become a box
POSITIVE, NEGATIVE = QColor(60, 220, 90), QColor(240, 60, 60)


class _TabFilter(QObject):
    """Qt moves focus on Tab before a widget sees the key: catch it for the tool."""

    def __init__(self, tool: SegmentAnythingTool) -> None:
        super().__init__()
        self.tool = tool

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        tab = (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
        )
        if not tab:
            return False
        assert isinstance(event, QKeyEvent)
        return self.tool.cycle(-1 if event.key() == Qt.Key.Key_Backtab else 1)


class SegmentAnythingTool(EverythingInView, AnnotationTool):
    """Points and boxes -> a previewed mask -> Enter paints it (see the module docstring)."""

    name = "Segment Anything"

    def __init__(self, ctx: AnnotationContext) -> None:
        super().__init__(ctx)
        self.session: PromptSession | None = None
        self._source_id: int | None = None
        self.window: Window | None = None
        self._pending: Window | None = None  # a re-centred window being encoded
        self.embedding: Embedding | None = None
        self.prompts = Prompts()
        self.prediction: Prediction | None = None
        self.choice = 0
        self._refine_paint: Paint | None = None
        self.proposals = ProposalSet()  # "segment everything in view"
        self._press: ToolEvent | None = None
        self._drag_end: tuple[float, float] | None = None
        self._preview: QImage | None = None
        self._filter = _TabFilter(self)
        jobs = ctx.context.jobs
        self._encoder = jobs.slot("encode the view", returned=self._encoded)
        self._refining = jobs.slot("refine the mask", returned=self._refined)
        self._everything = jobs.slot(
            "segment everything in view", yielded=self._progress, returned=self._proposed
        )
        self._precompute = jobs.slot(
            "precompute embeddings", yielded=self._progress, returned=self._precomputed
        )
        self._settle = QTimer()
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.view_settled)

    # -- activation and the view ------------------------------------------------------

    def activate(self, canvas: CanvasView) -> None:
        super().activate(canvas)
        canvas.view_changed.connect(self._settle.start)
        canvas.installEventFilter(self._filter)
        self._settle.start()

    def deactivate(self) -> None:
        if self.canvas is not None:
            self.canvas.view_changed.disconnect(self._settle.start)
            self.canvas.removeEventFilter(self._filter)
        self._settle.stop()
        self._encoder.cancel()
        self._refining.cancel()
        self._everything.cancel()
        self._precompute.cancel()
        self.clear()
        super().deactivate()

    def ensure_session(self) -> PromptSession | None:
        """The session of the open image with the default pair (built once per image)."""
        layer = self.canvas.image_layer if self.canvas is not None else None
        if layer is None:
            return None
        if self.session is not None and self._source_id == id(layer.source):
            return self.session
        from segcore.models.sam.runtime import PromptModel
        from segcore.models.sam.store import get_pair

        try:
            model = PromptModel(get_pair())
            self.session = PromptSession(self.ctx.image_source(), model)
        except TesseraError as exc:
            self.ctx.status(str(exc), 8000)
            return None
        self._source_id = id(layer.source)
        self.window = self.embedding = None
        if model.device_note:
            self.ctx.status(model.device_note, 6000)
        return self.session

    def view_box(self) -> Box:
        assert self.canvas is not None
        x0, y0, x1, y1 = self.canvas.viewport.visible_rect()
        return Box.from_bounds(math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))

    def view_settled(self) -> None:
        """Encode the window matching the view (unless prompts hold another window)."""
        session = self.ensure_session()
        if session is None or self.prompts.positions():
            return
        view = self.view_box()
        if view.is_empty:
            return
        self.use_window(session.window_for_view(view))

    def use_window(self, window: Window) -> None:
        """Make ``window`` current: its embedding from the cache, or encoded in the slot."""
        session = self.session
        if session is None or window == self.window:
            return
        self.window, self.embedding = window, session.cached(window)
        self._pending = None
        if self.embedding is None:
            self.ctx.status(f"Encoding the view (level {window.level})...", 0)
            self._encoder.start(lambda: (window, session.embed(window)), replace=True)

    def _encoded(self, result: tuple[Window, Embedding]) -> None:
        window, embedding = result
        if window == self._pending:  # the re-centred window is ready: move to it
            self._pending, self.window, self.prediction = None, window, None
        if window == self.window:
            self.embedding = embedding
            self.ctx.status("Ready: click an object", 2000)
            self.update_prediction()

    # -- mouse --------------------------------------------------------------------------

    def press(self, event: ToolEvent) -> bool:
        if event.button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        self._press, self._drag_end = event, None
        return True

    def move(self, event: ToolEvent) -> bool:
        start = self._press
        if start is None:
            return False
        if start.button == Qt.MouseButton.LeftButton and (
            self._drag_end is not None
            or math.hypot(event.sx - start.sx, event.sy - start.sy) > DRAG_PX
        ):
            self._drag_end = (event.x, event.y)
            self.repaint()
        return True

    def release(self, event: ToolEvent) -> bool:
        start, end = self._press, self._drag_end
        self._press = self._drag_end = None
        if start is None or self.ensure_session() is None:
            return start is not None
        if self.proposals and not self.prompts.positions() and end is None:
            self.proposals.drop_at(*self.pixel(start))
            self.repaint()
            return True
        if end is not None:
            x0, x1 = sorted((start.x - 0.5, end[0] - 0.5))
            y0, y1 = sorted((start.y - 0.5, end[1] - 0.5))
            self.prompts = Prompts(self.prompts.points, (x0, y0, x1, y1))
        else:
            negative = start.button == Qt.MouseButton.RightButton or bool(
                start.modifiers & Qt.KeyboardModifier.ShiftModifier
            )
            col, row = self.pixel(start)
            if not self.inside(col, row):
                self.ctx.status("Click inside the image")
                return True
            self.prompts = self.prompts.add(float(col), float(row), 0 if negative else 1)
        self.prompts_changed()
        return True

    # -- prompts -> preview ---------------------------------------------------------------

    def prompts_changed(self) -> None:
        session = self.session
        if session is None:
            return
        if not self.prompts.positions():
            self.prediction, self._preview = None, None
            self.repaint()
            return
        current = self.window or session.window_for_view(self.view_box())
        try:
            window = session.window_for(self.prompts, current)
        except TesseraError as exc:
            self.ctx.status(str(exc))
            return
        if window != self.window:
            spots = self.prompts.positions()
            here = self.window
            if (
                here is not None
                and self.embedding is not None
                and all(here.contains(x, y) for x, y in spots)
                and session.cached(window) is None
            ):
                # Near an inner edge but still inside: answer now on this window and
                # switch to the re-centred one once it is encoded (a click never waits).
                self._pending = window
                self._encoder.start(lambda: (window, session.embed(window)), replace=True)
            else:
                self.prediction = None  # its mask belongs to another window: not fed back
                self.use_window(window)
        self.update_prediction()

    def update_prediction(self) -> None:
        """Decode the prompts on the current window (GUI thread, milliseconds)."""
        session, window, embedding = self.session, self.window, self.embedding
        if session is None or window is None or embedding is None or not self.prompts.positions():
            self.repaint()
            return
        previous = None
        if self.prediction is not None and self.prediction.window == window:
            low = self.prediction.low_res
            previous = None if low is None else low[self.choice]
        try:
            self.prediction = session.predict(window, embedding, self.prompts, previous)
        except TesseraError as exc:
            self.ctx.status(str(exc))
            return
        self.choice = 0
        self._preview = None
        self._say_if_cut_off()
        self.repaint()

    def _say_if_cut_off(self) -> None:
        pred, session = self.prediction, self.session
        if pred is None or session is None or not pred.cut_off(self.choice, session.levels):
            return
        self.ctx.status(
            "The mask reaches the encoded window's edge: Enter finds the rest one level "
            "coarser (or zoom out)",
            5000,
        )

    def cycle(self, step: int) -> bool:
        """Tab: the next mask candidate."""
        if self.prediction is None or len(self.prediction) < 2:
            return False
        self.choice = (self.choice + step) % len(self.prediction)
        score = float(self.prediction.scores[self.choice])
        self.ctx.status(f"Candidate {self.choice + 1}/{len(self.prediction)} (IoU {score:.2f})")
        self._preview = None
        self._say_if_cut_off()
        self.repaint()
        return True

    def double_click(self, event: ToolEvent) -> bool:
        """A left double click commits, like Enter (its first click added the point)."""
        if event.button != Qt.MouseButton.LeftButton:
            return False
        return self.commit_proposals() if self.proposals else self.commit()

    # -- keys ---------------------------------------------------------------------------

    def key(self, event: QKeyEvent) -> bool:
        k = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if k in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self.commit_proposals() if self.proposals else self.commit()
        if k == Qt.Key.Key_A and shift:
            return self.segment_everything()
        if k == Qt.Key.Key_Escape and self.proposals:
            self.proposals.set([], None)
            self.repaint()
            return True
        if k == Qt.Key.Key_Escape and (self.prompts.positions() or self._drag_end):
            self.clear()
            return True
        if k == Qt.Key.Key_Backspace and self.prompts.positions():
            self.prompts = (
                Prompts(self.prompts.points[:-1], self.prompts.box)
                if self.prompts.points
                else Prompts()
            )
            self.prompts_changed()
            return True
        if k == Qt.Key.Key_P and shift:
            return self.precompute()
        return False

    def clear(self) -> None:
        self.prompts, self.prediction, self._preview = Prompts(), None, None
        self._pending = None
        self.choice = 0
        self.repaint()

    def commit(self) -> bool:
        """Enter: paint the chosen mask as a new object of the current class."""
        prediction = self.prediction
        if prediction is None:
            if self.prompts.positions():
                self.ctx.status("Still encoding the view; press Enter again in a moment")
            return bool(self.prompts.positions())
        if self.ctx.ready() is None:
            return True
        paint = self.ctx.paint(new_instance=True)
        if paint is None:
            return True
        mask = prediction.masks[self.choice].copy()
        if not mask.any():
            self.ctx.status("The mask is empty; add points or pick another candidate (Tab)")
            return True
        session = self.session
        if (
            session is not None
            and prediction.cut_off(self.choice, session.levels)
            and prediction.window.level + 1 < len(session.levels.sizes)
        ):
            prompts, choice = self.prompts, self.choice
            self._refine_paint = paint
            self._refining.start(lambda: refine_coarser(session, prediction, choice, prompts))
            self.ctx.status("The object runs past the window: refining one level coarser...", 0)
            self.clear()
            return True
        window = prediction.window
        self.ctx.run("segment_anything", paint_window_mask, window, mask, paint=paint)
        self.clear()
        return True

    def _refined(self, refined: Refined | None) -> None:
        """The coarse-level refinement is ready: paint it (one undo step)."""
        if refined is None:
            return
        paint = self._refine_paint  # the object started on Enter
        if paint is not None and self.ctx.ready() is not None:
            self.ctx.run("segment_anything", paint_refined, refined, paint=paint)

    def precompute(self) -> bool:
        """Shift+P: embeddings of the view's level for the whole image, in the background."""
        session = self.ensure_session()
        if session is None or self.canvas is None:
            return False
        if self._precompute.running:
            self._precompute.cancel()
            self.ctx.status("Precomputing stopped")
            return True
        from segcore.prompt.precompute import precompute

        level = session.window_for_view(self.view_box()).level
        self._precompute.start(lambda: precompute(session, level))
        return True

    def _progress(self, step: Any) -> None:
        self.ctx.status(f"Precomputing embeddings: {step.message} (Shift+P stops)", 0)

    def _precomputed(self, encoded: int) -> None:
        self.ctx.status(f"Embeddings ready ({encoded} windows encoded)", 4000)

    # -- drawing --------------------------------------------------------------------------

    def paint(self, painter: QPainter, canvas: CanvasView) -> None:
        self.proposals.draw(painter, canvas)
        prediction = self.prediction
        if prediction is not None:
            if self._preview is None:
                self._preview = self._mask_image(prediction.masks[self.choice])
            w = prediction.window
            x0, y0 = canvas.viewport.to_screen(w.x * w.fx, w.y * w.fy)
            x1, y1 = canvas.viewport.to_screen((w.x + w.w) * w.fx, (w.y + w.h) * w.fy)
            painter.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), self._preview)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        to_screen = canvas.viewport.to_screen
        box = self.prompts.box
        if self._drag_end is not None and self._press is not None:
            box = (self._press.x - 0.5, self._press.y - 0.5, self._drag_end[0] - 0.5,
                   self._drag_end[1] - 0.5)  # fmt: skip
        if box is not None:
            a, b = to_screen(box[0] + 0.5, box[1] + 0.5), to_screen(box[2] + 0.5, box[3] + 0.5)
            painter.setPen(feedback_pen())
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(QPointF(*a), QPointF(*b)).normalized())
        for x, y, label in self.prompts.points:
            sx, sy = to_screen(x + 0.5, y + 0.5)
            painter.setPen(feedback_pen(QColor(0, 0, 0), 1.5))
            painter.setBrush(POSITIVE if label else NEGATIVE)
            painter.drawEllipse(QPointF(sx, sy), 5.0, 5.0)

    def _mask_image(self, mask: np.ndarray) -> QImage:
        class_id = self.ctx.class_id
        info = self.ctx.class_info(class_id) if class_id is not None else None
        r, g, b = info.color if info is not None else (255, 210, 0)
        rgba = np.zeros((*mask.shape, 4), np.uint8)
        rgba[mask] = (r, g, b, 120)
        h, w = mask.shape
        return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def _sam_icon(p: QPainter) -> None:
    p.setBrush(QColor(90, 170, 255, 110))
    p.setPen(icon_pen(ACCENT, 3))
    p.drawEllipse(QRectF(8, 14, 40, 34))
    p.setPen(icon_pen(INK, 2))
    p.setBrush(POSITIVE)
    p.drawEllipse(QRectF(22, 24, 12, 12))
    p.setBrush(NEGATIVE)
    p.drawEllipse(QRectF(44, 44, 12, 12))


register_tool(
    ToolSpec(
        key="segment_anything",
        text="Segment Anything",
        shortcut="J",
        tip="Click objects (right: background, drag: box); Tab: other masks; Enter: paint",
        make=SegmentAnythingTool,
        icon=_sam_icon,
        group="regions",
    )
)
