"""Puts annotation into the main window: tool bar, project dock, project menus, undo/redo.

``MainWindow`` calls :func:`install_annotation` once; what it builds is
reachable as ``window.annotation`` (an :class:`Annotation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction

from app.docks.project_dock import ProjectDock
from app.project_actions import ProjectActions, install_project_actions
from app.tools.context import AnnotationContext
from app.tools.toolbar import AnnotationToolBar

if TYPE_CHECKING:
    from app.window import MainWindow


@dataclass(frozen=True)
class Annotation:
    """Everything annotation adds to a window."""

    ctx: AnnotationContext
    projects: ProjectActions
    toolbar: AnnotationToolBar
    dock: ProjectDock
    actions: dict[str, QAction]


class _SaveOnClose(QObject):
    """Saves and closes the project before the window's own close handling runs."""

    def __init__(self, projects: ProjectActions) -> None:
        super().__init__(projects)
        self.projects = projects

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Close:
            self.projects.shutdown()
        return False


def install_annotation(window: MainWindow) -> Annotation:
    """Add the annotation tool bar, the Project dock and the project commands."""
    from app.window import IMAGE_FILTER  # imported late: app.window imports this module

    ctx = AnnotationContext(window)
    projects = ProjectActions(window, ctx, IMAGE_FILTER)
    toolbar = AnnotationToolBar(window, ctx)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    dock = ProjectDock(projects)
    window.add_dock(dock, Qt.DockWidgetArea.LeftDockWidgetArea)
    actions = install_project_actions(window, projects)
    actions.update({f"tool_{key}": action for key, action in toolbar.actions_by_key.items()})
    window.actions_by_name.update(actions)
    window.installEventFilter(_SaveOnClose(projects))
    return Annotation(ctx, projects, toolbar, dock, actions)
