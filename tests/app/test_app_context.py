"""Features built from an AppContext, without a main window; the job slot's rules."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QMenu, QStatusBar, QToolBar, QWidget

from app.canvas.view import CanvasView
from app.context import AppContext
from app.docks.classes_dock import ClassesDock
from app.session import Session
from app.tools.context import AnnotationContext
from app.worker import Jobs, JobSlot


class _Signals(QObject):
    closing = Signal()


class FakeShell:
    """A shell that only records what features put into it."""

    def __init__(self) -> None:
        self._signals = _Signals()
        self.widget = QWidget()
        self.menus = {name: QMenu(name) for name in ("file", "edit", "view", "model", "help")}
        self.actions_by_name: dict[str, Any] = {}
        self.docks: list[QDockWidget] = []
        self.toolbars: list[QToolBar] = []

    @property
    def closing(self) -> Any:
        return self._signals.closing

    def add_dock(self, dock: QDockWidget, area: Qt.DockWidgetArea, *, tab_with: Any = None) -> None:
        self.docks.append(dock)

    def add_toolbar(self, toolbar: QToolBar) -> None:
        self.toolbars.append(toolbar)


def make_context() -> AppContext:
    shell = FakeShell()
    return AppContext(Session(), CanvasView(), ClassesDock(), QStatusBar(), Jobs(), shell)


def test_io_and_annotation_install_without_a_window(qtbot: Any) -> None:
    from app.annotation import install_annotation
    from app.io_actions import install as install_io

    context = make_context()
    qtbot.addWidget(context.shell.widget)
    annotation = install_annotation(context, "Images (*.png)")
    io = install_io(context, annotation.ctx)
    names = set(context.shell.actions_by_name)
    assert {"new_project", "undo", "redo", "tool_brush", "export_labels", "metrics_dock"} <= names
    assert [d.objectName() for d in context.shell.docks] == ["project_dock", "metrics_dock"]
    assert context.shell.toolbars == [annotation.toolbar]
    assert io.metrics_dock.compare() is None  # nothing open: a message, no job
    context.canvas.shutdown()


def test_the_labels_lock_is_one_lock_without_a_document(qtbot: Any) -> None:
    context = make_context()
    qtbot.addWidget(context.shell.widget)
    ctx = AnnotationContext(context)
    assert ctx.lock is ctx.lock
    context.canvas.shutdown()


def test_a_slot_runs_one_job_and_silences_a_replaced_one(qtbot: Any) -> None:
    got: list[object] = []
    stale: list[object] = []
    slot = JobSlot("count", returned=got.append, stale=stale.append)
    gate = threading.Event()

    def slow() -> str:
        gate.wait(10)
        return "old"

    first = slot.start(slow)
    assert first is not None and slot.running and slot.busy
    assert slot.start(lambda: "refused") is None  # one at a time
    slot.start(lambda: "new", replace=True)
    assert first.abort_requested
    gate.set()
    qtbot.waitUntil(lambda: not slot.busy, timeout=5000)
    qtbot.wait(50)
    assert got == ["new"]
    assert stale in ([], ["old"])  # a replaced job's result goes to stale(), never returned()


def test_a_slot_reports_errors_with_its_context(qtbot: Any, dialogs: list[str]) -> None:
    def broken() -> None:
        raise ValueError("no dice")

    slot = JobSlot("roll the dice")
    slot.start(broken)
    qtbot.waitUntil(lambda: not slot.busy, timeout=5000)
    assert len(dialogs) == 1 and "roll the dice" in dialogs[0] and "no dice" in dialogs[0]
