"""The editing session of one image: store + undo history + journal.

The GUI calls this and nothing below it. Every change goes through
:meth:`Editor.apply` (one-shot tools) or :meth:`Editor.begin` /
:meth:`Editor.extend` / :meth:`Editor.commit` (a brush stroke that shows as it
is drawn and commits on release). A commit is one undo record and one journal
record, fsynced before :meth:`commit` returns.

Example
-------
>>> ed = Editor(store, classes=classes, journal=journal)  # doctest: +SKIP
>>> ed.apply(paint_disk, cx=40, cy=40, radius=5, paint=ed.paint_for(1))  # doctest: +SKIP
Box(x=35, y=35, w=11, h=11)
>>> ed.undo()  # doctest: +SKIP
Box(x=35, y=35, w=11, h=11)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol

from segcore.errors import LabelError, TesseraError
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint, check_seed
from segcore.labels.history import (
    DEFAULT_HISTORY_BYTES,
    History,
    Record,
    Side,
    Transaction,
    apply_patches,
    planes_of,
)
from segcore.labels.objects import split_off
from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo
from segcore.labels.store import LabelStore

P = ParamSpec("P")


class JournalSink(Protocol):
    """Where committed records go before they are acknowledged (see project.journal)."""

    def append(self, record: Record) -> None: ...


class Editor:
    """Edits one label store with undo/redo and an optional journal.

    Parameters
    ----------
    store
        The image's label store. For a label volume, edits go to the current
        slice (:meth:`set_plane`); undo and redo go to the slices they recorded.
    classes
        The project's classes (thing classes get instance ids when painted).
    journal
        Durable log of commits; None for scratch sessions (tests, previews).
    history_bytes
        Memory cap of the undo history; the oldest records are dropped past it.
    separate_objects
        A thing-class stroke that does not touch the current object becomes a
        new object (:mod:`segcore.labels.objects`); False extends the current
        object wherever the stroke is (the behaviour before 0.x).
    """

    def __init__(
        self,
        store: LabelStore,
        *,
        classes: list[ClassInfo],
        journal: JournalSink | None = None,
        history_bytes: int = DEFAULT_HISTORY_BYTES,
        separate_objects: bool = True,
    ) -> None:
        self.store = store
        self.classes = {c.id: c for c in classes}
        self.journal = journal
        self.history = History(max_bytes=history_bytes)
        self.separate_objects = separate_objects
        self.current_instance = NO_INSTANCE
        self._instance_class: int | None = None  # class the current instance was painted with
        self._fresh = False  # the current instance was just started (no pixel of it yet)
        self._chosen = False  # the user picked the current instance: strokes extend it
        self._tx: Transaction | None = None
        self.changed_planes: list[int] = []  # slices the last undo/redo changed

    # -- slices ----------------------------------------------------------------

    @property
    def plane(self) -> int:
        """The slice edits go to (0 for a 2-D store)."""
        return self.store.z

    def set_plane(self, z: int) -> None:
        """Edit slice ``z`` of a label volume from now on (LabelError outside 0..depth-1)."""
        self._refuse_in_stroke("change the slice")
        self.store = self.store.plane(z)

    def set_classes(self, classes: list[ClassInfo]) -> None:
        """The project's classes changed (see :mod:`segcore.project.classedit`)."""
        self.classes = {c.id: c for c in classes}
        if self._instance_class is not None and not self.is_thing(self._instance_class):
            self.current_instance, self._instance_class = NO_INSTANCE, None

    # -- painting values -------------------------------------------------------

    @property
    def instance_class(self) -> int | None:
        """The class the current instance was painted with (None: not painted yet)."""
        return self._instance_class

    def is_thing(self, class_id: int) -> bool:
        info = self.classes.get(class_id)
        return info is not None and info.thing

    def new_instance(self) -> int:
        """Start a new instance: the next free id becomes the current one."""
        self.current_instance = self.store.next_instance_id()
        self._instance_class = None
        self._fresh, self._chosen = True, False
        return self.current_instance

    def paint_for(self, class_id: int) -> Paint:
        """What painting ``class_id`` writes: a thing class extends the current
        instance (starting one if there is none or it belongs to another class),
        a stuff class clears instance ids."""
        if class_id != UNLABELLED and class_id not in self.classes:
            raise LabelError(f"class id {class_id} is not one of {sorted(self.classes)}")
        if class_id == UNLABELLED or not self.is_thing(class_id):
            return Paint(class_id, NO_INSTANCE)
        if self.current_instance == NO_INSTANCE or self._instance_class not in (None, class_id):
            self.new_instance()
        self._instance_class = class_id
        return Paint(class_id, self.current_instance)

    def select(self, x: int, y: int) -> tuple[int, int]:
        """(class id, instance id) under a point; a hit instance becomes current, and
        strokes extend it even where they do not touch it (the user asked for it)."""
        check_seed(self.store, x, y)
        cls = int(self.store.read("semantic", x, y, 1, 1)[0, 0])
        inst = int(self.store.read("instance", x, y, 1, 1)[0, 0])
        if inst != NO_INSTANCE:
            self.current_instance = inst
            self._instance_class = cls
            self._fresh, self._chosen = False, True
        return cls, inst

    # -- transactions ----------------------------------------------------------

    @property
    def in_stroke(self) -> bool:
        return self._tx is not None

    def begin(self, name: str = "stroke") -> None:
        """Start an action whose edits commit together (a brush stroke)."""
        if self._tx is not None:
            raise LabelError(f"'{self._tx.name}' is still open; commit or cancel it first")
        self._tx = Transaction(name)
        self.store.recorder = self._tx
        self.store.hold_writes(True)

    def extend(
        self, fn: Callable[Concatenate[LabelStore, P], Box], *args: P.args, **kwargs: P.kwargs
    ) -> Box:
        """Run one edit inside the open action; visible at once, not yet committed.

        If the edit raises, the whole open action is rolled back and closed.
        """
        if self._tx is None:
            raise LabelError("no action is open; call begin() first")
        try:
            return fn(self.store, *args, **kwargs)
        except BaseException:
            self.cancel()
            raise

    def commit(self) -> Box:
        """Close the open action: one undo record, journalled and fsynced.

        Returns the box that changed (empty if nothing did).

        Raises
        ------
        ProjectError
            If the journal cannot be written (disk full); the action is then
            rolled back so the maps match what is on disk.
        """
        record = self._finish()
        if record is None:
            return Box.empty()
        self._journal(record)
        self.history.push(record)
        return record.box

    def _finish(self) -> Record | None:
        """End the open action: a stroke away from the current object becomes a new one."""
        tx = self._require_tx()
        instance = self.current_instance
        try:
            if self.separate_objects and not (self._fresh or self._chosen) and tx.touched:
                moved = split_off(self.store, tx, instance)
                if moved is not None:
                    self.current_instance = moved
            record = tx.finish(self.store)
        finally:
            self._end_tx()
        if record is not None and self.current_instance != NO_INSTANCE:
            self._fresh = False
        return record

    def apply_without_undo(
        self, fn: Callable[Concatenate[LabelStore, P], Box], *args: P.args, **kwargs: P.kwargs
    ) -> Record | None:
        """Run one edit journalled but not in the undo history (a class change keeps
        its own undo step); returns its record, or None when nothing changed."""
        self._refuse_in_stroke("change the labels")
        self.begin(getattr(fn, "__name__", "edit"))
        self.extend(fn, *args, **kwargs)
        tx = self._require_tx()
        record = tx.finish(self.store)
        self._end_tx()
        if record is not None:
            self._journal(record)
        return record

    def replay(self, record: Record, side: Side) -> Box:
        """Write one side of ``record`` (from :meth:`apply_without_undo`) and journal it."""
        self._refuse_in_stroke("change the labels")
        box = apply_patches(self.store, record.patches, side)
        self._journal(record if side == "new" else record.inverted())
        return box

    def cancel(self) -> Box:
        """Drop the open action, restoring what it changed."""
        tx = self._require_tx()
        self._end_tx()
        return tx.rollback(self.store)

    def apply(
        self, fn: Callable[Concatenate[LabelStore, P], Box], *args: P.args, **kwargs: P.kwargs
    ) -> Box:
        """Run one edit as its own undoable, journalled action.

        ``fn(store, *args, **kwargs)`` is any edit of :mod:`segcore.labels.edits`.
        """
        self.begin(getattr(fn, "__name__", "edit"))
        self.extend(fn, *args, **kwargs)
        return self.commit()

    # -- undo / redo -----------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    def undo(self) -> Box | None:
        """Undo the last action; returns its box, or None if there is nothing to undo."""
        self._refuse_in_stroke("undo")
        record = self.history.pop_undo()
        if record is None:
            return None
        box = apply_patches(self.store, record.patches, "old")
        self.changed_planes = planes_of(record.patches)
        try:
            self._journal(record.inverted())
        except TesseraError:
            self.history.pop_redo()
            raise
        return box

    def redo(self) -> Box | None:
        """Redo the last undone action; returns its box, or None."""
        self._refuse_in_stroke("redo")
        record = self.history.pop_redo()
        if record is None:
            return None
        box = apply_patches(self.store, record.patches, "new")
        self.changed_planes = planes_of(record.patches)
        try:
            self._journal(record)
        except TesseraError:
            self.history.pop_undo()
            raise
        return box

    def idle(self, seconds: float = 0.05) -> int:
        """Use idle time to write cached edits to disk (call from a GUI timer).

        Keeps brush dabs free of disk writes when the chunk cache fills.
        Returns how many chunks still wait to be written.
        """
        return self.store.write_back(seconds)

    # -- internals -------------------------------------------------------------

    def _journal(self, record: Record) -> None:
        """Append to the journal; on failure put the maps back to ``record``'s old side."""
        if self.journal is None:
            return
        try:
            self.journal.append(record)
        except TesseraError:
            apply_patches(self.store, record.patches, "old")
            raise

    def _require_tx(self) -> Transaction:
        if self._tx is None:
            raise LabelError("no action is open")
        return self._tx

    def _end_tx(self) -> None:
        self._tx = None
        self.store.recorder = None
        self.store.hold_writes(False)

    def _refuse_in_stroke(self, what: str) -> None:
        if self._tx is not None:
            raise LabelError(f"cannot {what} while '{self._tx.name}' is being drawn")
