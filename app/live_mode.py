"""Live mode: the pixel classifier retrains after every stroke and repaints the view.

The way ilastik's live update works: while live mode is on, each finished
stroke (and each undo or redo) refits the forest on the labels so far and
predicts the visible area again; panning or zooming predicts the newly visible
tiles. All of it runs in :class:`segcore.pixelclass.live.LiveClassifier`,
driven through the feature's job slot; the GUI thread only records
which boxes changed, starts refreshes and paints the tiles they yield.

One refresh runs at a time. A stroke that arrives during a refresh stops it
between tiles (the stale prediction is not finished) and a new one starts as
soon as the old worker has ended, so the classifier is never used by two
threads. Changed boxes are handed to the classifier on the GUI thread while no
refresh runs, so none is lost when a refresh is stopped early.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from app import errors
from app.training_job import document_labels, open_copy
from segcore.errors import TrainingError
from segcore.jobs import Progress
from segcore.labels.box import Box
from segcore.pixelclass.live import LIVE_TREES

if TYPE_CHECKING:
    from app.context import AppContext
    from app.prediction_map import PredictionMap
    from app.tools.context import AnnotationContext
    from segcore.io.source import ImageSource
    from segcore.pixelclass.live import LiveClassifier, LiveResult

VIEW_DELAY_MS = 250  # after the view stops moving
EDIT_DELAY_MS = 100  # after an edit outside a stroke (fills, shapes, undo: they emit no end)
MAX_LIVE_SIDE = 2048  # a zoomed-out view is predicted in its central 2048 x 2048 pixels


class LiveMode(QObject):
    """See the module docstring. ``status(text)`` says what the last refresh did.

    ``edits`` is the annotation context whose strokes trigger refreshes (None: live
    mode cannot start, there is nothing to label with).
    """

    status = Signal(str)
    active_changed = Signal(bool)

    def __init__(self, context: AppContext, edits: AnnotationContext | None) -> None:
        super().__init__(context.shell.widget)
        self.context, self.edits = context, edits
        self.session, self.canvas = context.session, context.canvas
        self.live: LiveClassifier | None = None
        self.trees = LIVE_TREES
        self.job = context.jobs.slot(
            "live mode",
            yielded=self._patch,
            returned=self._done,
            errored=self._failed,
            finished=self._finished,
        )
        self._source: ImageSource | None = None
        self._owned = False
        self._prediction: PredictionMap | None = None
        self._pending: list[Box] = []
        self._again = False
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(VIEW_DELAY_MS)
        self._view_timer.timeout.connect(self.refresh)
        self._edit_timer = QTimer(self)
        self._edit_timer.setSingleShot(True)
        self._edit_timer.setInterval(EDIT_DELAY_MS)
        self._edit_timer.timeout.connect(self._stroke_done)
        context.shell.closing.connect(self.stop)

    @property
    def active(self) -> bool:
        return self.live is not None

    @property
    def busy(self) -> bool:
        return self.job.running

    # -- on and off -------------------------------------------------------------

    def start(self) -> bool:
        """Start on the open image's labels; a dialog says why not when it cannot."""
        from segcore.pixelclass.live import LiveClassifier
        from segcore.pixelclass.train import PixelConfig

        if self.active:
            return True
        doc = self.session.document
        if doc is None or doc.labels is None or self.edits is None:
            errors.report(
                TrainingError(
                    "live mode learns from the labels of the open image: open a project "
                    "image (File > Open Project) and paint a few strokes of each class"
                ),
                context="live mode",
            )
            return False
        classes = tuple(self.context.classes.classes) or tuple(doc.classes)
        self._source, self._owned = open_copy(doc)
        self.live = LiveClassifier(
            self._source,
            document_labels(doc),
            classes=classes or None,
            config=PixelConfig(trees=self.trees),
            labelled_boxes=_labelled_boxes(doc.labels, doc.labels_lock),
        )
        self._prediction = self.session.new_prediction(classes)
        self.edits.labels_edited.connect(self._edited)
        self.edits.history_changed.connect(self._stroke_done)
        self.canvas.view_changed.connect(self._view_timer.start)
        self.session.document_changed.connect(self._document_changed)
        self.active_changed.emit(True)
        self.refresh()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """End live mode: stop a refresh, drop the caches (the last prediction stays)."""
        if not self.active:
            return
        if self.edits is not None:
            self.edits.labels_edited.disconnect(self._edited)
            self.edits.history_changed.disconnect(self._stroke_done)
        self.canvas.view_changed.disconnect(self._view_timer.start)
        self.session.document_changed.disconnect(self._document_changed)
        self._view_timer.stop()
        self._edit_timer.stop()
        self._again = False
        self.job.shutdown(timeout)
        live, self.live = self.live, None
        if live is not None:
            live.close()
        if self._owned and self._source is not None:
            self._source.close()
        self._source, self._pending = None, []
        self.active_changed.emit(False)

    # -- triggers ----------------------------------------------------------------

    def _edited(self, box: Box) -> None:
        self._pending.append(box)
        self._edit_timer.start()  # worker edits report their box after their commit

    def _stroke_done(self) -> None:
        if self.edits is not None and self.edits.in_stroke:
            self._edit_timer.start()  # a brush stroke goes on: wait for its end
        elif self._pending:
            self._edit_timer.stop()
            self.refresh()

    def _document_changed(self, _doc: object) -> None:
        self.stop()

    def refresh(self) -> None:
        """Retrain on changed labels and predict the view; a running refresh is stopped first."""
        if not self.active:
            return
        if self.job.running:
            self._again = True
            if self._pending:
                self.job.cancel()  # a newer stroke makes this prediction stale
            return
        live = self.live
        assert live is not None
        for box in self._pending:  # safe: no refresh is running
            live.mark_changed(box)
        self._pending = []
        view = _central(Box(*self.canvas.visible_box()), MAX_LIVE_SIDE)
        self.job.start(lambda: live.refresh(view))

    # -- results -------------------------------------------------------------------

    def _patch(self, step: Progress) -> None:
        patch = step.payload
        if patch is None or self.session.prediction is not self._prediction:
            return  # reading labels, or a model run replaced the layer
        self.session.add_prediction(patch.x, patch.y, patch.labels, patch.score)

    def _done(self, result: LiveResult) -> None:
        if result.message:
            self.status.emit(result.message)
            return
        pixels = sum(result.samples.values())
        trained = (
            f"retrained on {pixels} pixels in {result.train_seconds:.1f} s, "
            if result.trained
            else ""
        )
        self.status.emit(f"Live: {trained}{result.predicted} tiles in {result.seconds:.1f} s")

    def _failed(self, exc: BaseException) -> None:
        self.status.emit("Live update failed")
        errors.report(exc, context="live mode")
        QTimer.singleShot(0, self.stop)  # not from inside the job's own handler

    def _finished(self) -> None:
        if self._again and self.active:
            self._again = False
            self.refresh()


def _central(view: Box, side: int) -> Box:
    """``view``, or its central ``side`` x ``side`` part when it is larger."""
    w, h = min(view.w, side), min(view.h, side)
    return Box(view.x + (view.w - w) // 2, view.y + (view.h - h) // 2, w, h)


def _labelled_boxes(store: Any, lock: Any) -> Any:
    """Boxes of the label store's chunks that hold labels (None: read the whole map)."""
    if not hasattr(store, "labelled_chunks") or not hasattr(store, "chunk"):
        return None

    def boxes() -> list[Box]:
        with lock:
            c = int(store.chunk)
            return [Box(cx * c, cy * c, c, c) for cy, cx in store.labelled_chunks()]

    return boxes
