"""The state annotation tools share, and the one path by which they edit labels.

:class:`AnnotationContext` holds the editor of the image being labelled
(:class:`segcore.labels.editor.Editor`), the current class (the Classes dock's
selection), brush size and wand tolerance. Tools never touch the store
directly; they call

* :meth:`AnnotationContext.begin` / :meth:`~AnnotationContext.extend` /
  :meth:`~AnnotationContext.commit` on the GUI thread for brush strokes (a dab
  is a numpy write into the store's chunk cache, well under a millisecond), or
* :meth:`AnnotationContext.run` for one-shot edits (fill, GrabCut, watershed,
  SLIC, instance operations...), which run in a worker thread between a
  ``begin`` and a ``commit`` made on the GUI thread.

Every change invalidates only its box on the canvas. Tile threads read the
store under the document's ``labels_lock``; edits hold it for each store call
(:class:`LockedStore`), so a long GrabCut never blocks tile reads for its
whole run. While a worker edit runs the context is *busy*: other edits,
undo and redo wait for it (the editor has one open action at a time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from app import errors
from app.prediction_volume import PredictionVolume
from app.session import ImageDocument
from app.tools.adapters import LayerImage, LockedStore, PredictionImage
from app.worker import Worker
from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.editor import Editor
from segcore.labels.edits.common import Paint
from segcore.labels.schema import UNLABELLED, ClassInfo

if TYPE_CHECKING:
    from app.context import AppContext

LABEL_LAYER_IDS = ("semantic", "instance", "panoptic")
MIN_BRUSH, MAX_BRUSH = 1, 1000
IDLE_AFTER_S = 0.5  # no edit for this long: the user paused
WRITE_BACK_S = 0.03  # disk write-back budget per idle tick (the GUI thread does it)


class ClassSteps(Protocol):
    """Undo / redo of class changes (app.project.class_actions), asked before the editor's."""

    def takes(self, what: str) -> bool: ...

    def step(self, what: str) -> bool: ...


class AnnotationContext(QObject):
    """Current editor, class and tool options; the edit path of every tool."""

    editor_changed = Signal(object)  # Editor | None
    labels_edited = Signal(object)  # Box (level 0) that changed on screen
    history_changed = Signal()  # after a commit, undo or redo
    busy_changed = Signal(bool)
    options_changed = Signal()  # brush size or tolerance
    needs_project = Signal()  # a tool was used on an image that is not in a project
    object_changed = Signal(object)  # (instance id, ClassInfo | None) now current, or None

    def __init__(self, context: AppContext) -> None:
        super().__init__(context.shell.widget)
        self.context = context
        self.canvas = context.canvas
        self.session = context.session
        self.editor: Editor | None = None
        self.image_id: str | None = None
        self.brush_size = 12  # diameter in level-0 pixels
        self.tolerance = 16.0  # magic wand, in the image's units
        self._stroke_box = Box.empty()
        self._own_lock = threading.RLock()
        self._job: _EditJob | None = None
        self.class_steps: ClassSteps | None = None  # class changes share Edit > Undo
        self._edits = context.jobs.slot("edit", finished=self._edit_finished)
        self._last_edit = 0.0
        self.session.document_changed.connect(self._document_changed)
        self.canvas.slice_changed.connect(self._slice_changed)
        # While the user pauses, write cached chunks to disk a little at a time, so a
        # later brush dab never waits for a chunk eviction to be encoded and written.
        self._idle = QTimer(self)
        self._idle.setInterval(250)
        self._idle.timeout.connect(self._write_back)
        self._idle.start()

    # -- state ----------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """The open document's labels lock; the context's own while none is open (so a
        stroke and the edits it waits for still exclude each other)."""
        doc = self.session.document
        return doc.labels_lock if doc is not None else self._own_lock

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def in_stroke(self) -> bool:
        return self.editor is not None and self.editor.in_stroke

    @property
    def brush_radius(self) -> float:
        return self.brush_size / 2.0

    def set_brush_size(self, size: int) -> None:
        size = int(min(max(size, MIN_BRUSH), MAX_BRUSH))
        if size != self.brush_size:
            self.brush_size = size
            self.options_changed.emit()
            self.canvas.update()

    def grow_brush(self, steps: int) -> None:
        """``]`` and ``[``: about 20 % bigger or smaller per step, at least one pixel."""
        size = self.brush_size
        for _ in range(abs(steps)):
            size = (
                max(size + 1, round(size * 1.2)) if steps > 0 else min(size - 1, round(size / 1.2))
            )
        self.set_brush_size(size)

    def set_tolerance(self, value: float) -> None:
        if value != self.tolerance:
            self.tolerance = float(max(value, 0.0))
            self.options_changed.emit()

    @property
    def classes(self) -> tuple[ClassInfo, ...]:
        return tuple(self.context.classes.classes)

    @property
    def class_id(self) -> int | None:
        current = self.context.classes.current_class
        return None if current is None else current.id

    def class_info(self, class_id: int) -> ClassInfo | None:
        return next((c for c in self.classes if c.id == class_id), None)

    def set_class(self, class_id: int) -> bool:
        """Make ``class_id`` the current class (selects it in the Classes dock)."""
        for row, c in enumerate(self.classes):
            if c.id == class_id:
                self.context.classes.select_index(row)
                return True
        return False

    def new_instance(self) -> int | None:
        """Key N: the next strokes of a thing class draw a new object."""
        if self.editor is None:
            self.ready()  # says why nothing happens
            return None
        instance = self.editor.new_instance()
        self.object_changed.emit(instance)
        return instance

    def use_instance(self, col: int, row: int) -> tuple[int, int]:
        """Select, Eyedropper: the object at a pixel becomes current (strokes extend it),
        and its class the current class. Returns (class id, instance id)."""
        if self.editor is None:
            return UNLABELLED, 0
        with self.lock:
            class_id, instance_id = self.editor.select(col, row)
        if class_id != UNLABELLED:
            self.set_class(class_id)
        self.object_changed.emit(instance_id)
        return class_id, instance_id

    def object_text(self) -> str:
        """The status bar's word on the current object: "Object #3 (cell)", or ''."""
        editor, current = self.editor, self.context.classes.current_class
        if editor is None or current is None or not current.thing:
            return ""
        if editor.current_instance == 0 or editor.instance_class not in (None, current.id):
            return f"Next stroke: a new {current.name}"
        return f"Object #{editor.current_instance} ({current.name})"

    def set_separate_objects(self, on: bool) -> None:
        """Strokes away from the current object start a new one (False: they extend it)."""
        project = self.session.project
        if project is not None:
            project.settings["separate_objects"] = bool(on)
        if self.editor is not None:
            self.editor.separate_objects = bool(on)

    def status(self, text: str, msecs: int = 4000) -> None:
        self.context.say(text, msecs)

    # -- attaching an image's editor -----------------------------------------

    def attach(self, image_id: str, editor: Editor) -> None:
        """Edit ``image_id`` with ``editor`` (its store must be the document's labels)."""
        self.detach()
        self.image_id, self.editor = image_id, editor
        self._follow_slice(self.canvas.z)
        self._idle.start()
        self.editor_changed.emit(editor)
        self.history_changed.emit()

    def detach(self) -> None:
        """Stop editing: finish a running edit, close an open stroke."""
        self.finish_job()
        if self.editor is not None and self.editor.in_stroke:
            self.commit()
        if self.editor is not None:
            self.image_id, self.editor = None, None
            self.editor_changed.emit(None)
            self.history_changed.emit()

    def _document_changed(self, doc: ImageDocument | None) -> None:
        store = self.editor.store.plane(0) if self.editor is not None else None
        if self.editor is not None and (doc is None or doc.labels is not store):
            self.detach()
        if doc is not None and doc.display.high and doc.display.low:
            span = float(doc.display.high[0]) - float(doc.display.low[0])
            self.set_tolerance(round(max(span * 0.08, 1.0), 1))

    def _slice_changed(self, z: int) -> None:
        """The canvas shows slice ``z``: a label volume's edits go there from now on."""
        self.finish_job()
        if self.editor is not None and self.editor.in_stroke:
            self.commit()
        self._follow_slice(z)

    def _follow_slice(self, z: int) -> None:
        editor = self.editor
        if editor is not None and editor.store.depth > 1:
            editor.set_plane(min(max(z, 0), editor.store.depth - 1))

    def ready(self) -> Editor | None:
        """The editor if an edit may start now; otherwise says why in the status bar."""
        if self.editor is None:
            if self.session.document is None:
                self.status("Open an image of a project to label it (File > Open Project...)")
            else:
                self.needs_project.emit()  # says so, and offers to add the image
            return None
        if self.busy:
            self.status("Still working on the last edit...")
            return None
        if self.editor.in_stroke:
            return None
        return self.editor

    def paint(self, *, new_instance: bool = False) -> Paint | None:
        """What painting the current class writes; a thing class may start a new instance."""
        editor, class_id = self.editor, self.class_id
        if editor is None:
            return None
        if class_id is None:
            self.status("Pick a class first (Classes dock or keys 1-9)")
            return None
        try:
            if new_instance and editor.is_thing(class_id):
                editor.new_instance()
            # A thing class extends the current object, or starts one if it has another class.
            return editor.paint_for(class_id)
        except LabelError as exc:
            errors.report(exc, context="pick the class to paint")
            return None

    # -- strokes on the GUI thread --------------------------------------------

    def begin(self, name: str) -> bool:
        editor = self.ready()
        if editor is None:
            return False
        with self.lock:
            editor.begin(name)
        self._stroke_box = Box.empty()
        return True

    def extend(self, fn: Callable[..., Box], *args: Any, **kwargs: Any) -> Box:
        """One more piece of the open stroke; shown at once."""
        editor = self.editor
        if editor is None or not editor.in_stroke:
            return Box.empty()
        try:
            with self.lock:
                box = editor.extend(fn, *args, **kwargs)
        except Exception as exc:  # the editor has rolled the stroke back
            self.changed(self._stroke_box)
            errors.report(exc, context="draw")
            return Box.empty()
        self._stroke_box = self._stroke_box.union(box)
        self.changed(box)
        return box

    def commit(self) -> Box:
        """Close the open stroke: one undo record, journalled before this returns."""
        editor = self.editor
        if editor is None or not editor.in_stroke:
            return Box.empty()
        try:
            with self.lock:
                box = editor.commit()
        except Exception as exc:  # journal refused (disk full): the editor rolled back
            self.changed(self._stroke_box)
            errors.report(exc, context="save the edit")
            return Box.empty()
        self.history_changed.emit()
        return box

    def cancel(self) -> Box:
        editor = self.editor
        if editor is None or not editor.in_stroke:
            return Box.empty()
        with self.lock:
            box = editor.cancel()
        self.changed(box.union(self._stroke_box))
        return box

    # -- one-shot edits in a worker -------------------------------------------

    def run(
        self,
        name: str,
        fn: Callable[..., Box],
        *args: Any,
        after: Callable[[Box], None] | None = None,
        **kwargs: Any,
    ) -> Worker | None:
        """Run ``fn(store, *args, **kwargs)`` in a worker as one undoable action.

        ``after(box)`` runs on the GUI thread once the action is committed.
        Returns the worker, or None when no edit can start now.
        """
        editor = self.ready()
        if editor is None:
            return None
        with self.lock:
            editor.begin(name)
        self._stroke_box = Box.empty()
        job = _EditJob(name.replace("_", " "), after)
        store = LockedStore(editor.store, self.lock)
        self._job = job
        self.busy_changed.emit(True)
        self.status(f"{job.title.capitalize()}...", 0)
        return self._edits.start(lambda: job.run(lambda: fn(store, *args, **kwargs)))

    def finish_job(self) -> None:
        """Wait for a running edit and apply its outcome now (closing, switching image)."""
        if self._job is not None:
            self._edits.wait()
            self._end_job(self._job)

    def _edit_finished(self) -> None:
        if self._job is not None:
            self._end_job(self._job)

    def _end_job(self, job: _EditJob) -> None:
        """The worker of ``job`` has ended: commit its action, or roll it back on error."""
        if job is not self._job:
            return  # a late signal of a job already ended by finish_job
        self._job = None
        self.context.status.clearMessage()
        editor = self.editor
        if editor is not None and editor.in_stroke:
            if job.error is None and job.box is not None:
                self._stroke_box = job.box
                box = self.commit()
                self.changed(box)
                if job.after is not None:
                    job.after(box)
            else:
                self.cancel()
        self.busy_changed.emit(False)
        if job.error is not None:
            errors.report(job.error, context=job.title)

    # -- undo / redo ------------------------------------------------------------

    def undo(self) -> Box | None:
        return self._step("undo")

    def redo(self) -> Box | None:
        return self._step("redo")

    @property
    def can_undo(self) -> bool:
        steps = self.class_steps
        return (self.editor is not None and self.editor.can_undo) or (
            steps is not None and steps.takes("undo")
        )

    @property
    def can_redo(self) -> bool:
        steps = self.class_steps
        return (self.editor is not None and self.editor.can_redo) or (
            steps is not None and steps.takes("redo")
        )

    def _step(self, what: str) -> Box | None:
        if self.class_steps is not None and self.class_steps.takes(what):
            self.class_steps.step(what)
            return None
        editor = self.ready()
        if editor is None:
            return None
        try:
            with self.lock:
                box = editor.undo() if what == "undo" else editor.redo()
        except Exception as exc:
            errors.report(exc, context=what)
            return None
        if box is None:
            self.status(f"Nothing to {what}", 2000)
            return None
        self.changed(box)
        self.history_changed.emit()
        elsewhere = [z + 1 for z in editor.changed_planes if z != editor.plane]
        if editor.store.depth > 1 and elsewhere:
            where = ", ".join(map(str, elsewhere))
            self.status(f"{what.capitalize()} changed slice {where}", 4000)
        return box

    # -- reading ----------------------------------------------------------------

    def labels_at(self, col: int, row: int) -> tuple[int, int]:
        """(class id, instance id) of a level-0 pixel; (255, 0) outside the image."""
        editor = self.editor
        if editor is None:
            return UNLABELLED, 0
        with self.lock:
            sem = int(editor.store.read("semantic", col, row, 1, 1)[0, 0])
            inst = int(editor.store.read("instance", col, row, 1, 1)[0, 0])
        return sem, inst

    def image_source(self) -> LayerImage:
        return LayerImage(self.canvas)

    def prediction_source(self) -> PredictionImage | None:
        pred = self.session.prediction
        if pred is None:
            return None
        if isinstance(pred, PredictionVolume):  # the slice on screen
            return PredictionImage(pred.plane(self.canvas.z), self.lock)
        return PredictionImage(pred, self.lock)

    def _write_back(self) -> None:
        editor = self.editor
        if editor is None or editor.in_stroke or self.busy:
            return
        if time.monotonic() - self._last_edit < IDLE_AFTER_S:
            return
        try:
            with self.lock:
                editor.idle(WRITE_BACK_S)
        except Exception as exc:  # the disk refused; save will say so again, with context
            self._idle.stop()
            errors.report(exc, context="write labels to disk")

    # -- screen -------------------------------------------------------------------

    def changed(self, box: Box) -> None:
        """Labels inside ``box`` changed: read just those tiles again."""
        self._last_edit = time.monotonic()
        if box.is_empty:
            return
        rect = (box.x, box.y, box.w, box.h)
        for layer_id in LABEL_LAYER_IDS:
            self.canvas.invalidate(layer_id, rect)
        self.session.labels_changed.emit(rect)
        self.labels_edited.emit(box)


class _EditJob:
    """One worker edit: its outcome, captured in the worker thread, read on the GUI thread
    (also right after waiting for it, before its signals arrive)."""

    def __init__(self, title: str, after: Callable[[Box], None] | None) -> None:
        self.title, self.after = title, after
        self.box: Box | None = None
        self.error: BaseException | None = None

    def run(self, fn: Callable[[], Box]) -> Box:
        try:
            self.box = fn()
        except Exception as exc:
            self.error = exc
        return self.box or Box.empty()
