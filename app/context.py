"""What an app feature is given instead of the main window.

A feature (annotation, projects, label import and export, metrics, training)
is built from an :class:`AppContext`: what is open (``session``), the canvas,
the current class, the status bar, its job slots (``jobs``) and the ``shell``
it puts its menus, docks, tool bars and dialogs in. Its imports then say what
it touches, and a test can build it without a window. The main window builds
one context, installs the features with it and wires them to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QStatusBar, QToolBar, QWidget

from app.canvas.view import CanvasView
from app.docks.classes_dock import ClassesDock
from app.session import Session
from app.worker import Jobs


class Shell(Protocol):
    """Where features put their UI (the main window is one)."""

    menus: dict[str, QMenu]  # "file", "edit", "view", "model", "help"
    actions_by_name: dict[str, QAction]  # every command, for shortcuts and the Shortcuts list

    @property
    def closing(self) -> SignalInstance:
        """Emitted first when the window closes (save, then stop jobs)."""
        ...

    @property
    def widget(self) -> QWidget:
        """The parent of dialogs and window-wide actions."""
        ...

    def add_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea, *, tab_with: QDockWidget | None = None
    ) -> None: ...

    def add_toolbar(self, toolbar: QToolBar) -> None: ...


@dataclass(frozen=True)
class AppContext:
    """The services an app feature uses: see the module docstring."""

    session: Session
    canvas: CanvasView
    classes: ClassesDock  # the current class: classes, current_class(_changed), select_index
    status: QStatusBar
    jobs: Jobs
    shell: Shell

    def say(self, text: str, msecs: int = 0) -> None:
        """A message in the status bar (``msecs`` 0: until the next one)."""
        self.status.showMessage(text, msecs)
