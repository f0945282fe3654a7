"""Puts annotation into the main window: tool bar, project dock, project menus, undo/redo.

``MainWindow`` calls :func:`install_annotation` once; what it builds is
reachable as ``window.annotation`` (an :class:`Annotation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from app.actions import make_action
from app.docks.project_dock import ProjectDock
from app.project_actions import ProjectActions
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


def install_project_actions(window: MainWindow, projects: ProjectActions) -> dict[str, QAction]:
    """File menu project commands and Edit > Undo / Redo; returns them by name."""
    ctx = projects.ctx
    a: dict[str, QAction] = {}
    w = window
    a["new_project"] = make_action(
        w, "&New Project...", projects.new_project, keys="Ctrl+Shift+N",
        tip="Create a project folder; the open image becomes its first image",
    )  # fmt: skip
    a["open_project"] = make_action(
        w, "Open &Project...", projects.open_project, keys="Ctrl+Shift+O",
        tip="Open a project folder (its project.json)",
    )  # fmt: skip
    a["save_project"] = make_action(
        w, "&Save Project", projects.save, keys=QKeySequence.StandardKey.Save,
        tip="Save labels and project (every stroke is already safe in the journal)",
    )  # fmt: skip
    a["save_project_as"] = make_action(
        w, "Save Project &As...", projects.save_as, keys=QKeySequence.StandardKey.SaveAs,
        tip="Copy the project to a new folder and continue there",
    )  # fmt: skip
    a["close_project"] = make_action(w, "Close P&roject", projects.close_project)
    a["add_images"] = make_action(
        w, "Add &Images to Project...", projects.add_images, tip="Add image files to the project"
    )
    a["next_image"] = make_action(
        w, "Ne&xt Image", lambda: projects.step_image(1), keys="Alt+Right",
        tip="Open the next image of the project",
    )  # fmt: skip
    a["prev_image"] = make_action(
        w, "Pre&vious Image", lambda: projects.step_image(-1), keys="Alt+Left",
        tip="Open the previous image of the project",
    )  # fmt: skip
    a["undo"] = make_action(w, "&Undo", ctx.undo, keys="Ctrl+Z", tip="Undo the last edit")
    a["redo"] = make_action(
        w, "&Redo", ctx.redo, keys=["Ctrl+Shift+Z", "Ctrl+Y"], tip="Redo the last undone edit"
    )

    file_menu = w.menus["file"]
    first = file_menu.actions()[0] if file_menu.actions() else None
    project_items = [a[k] for k in ("new_project", "open_project", "save_project",
                                    "save_project_as", "close_project")]  # fmt: skip
    file_menu.insertActions(first, project_items)  # type: ignore[arg-type]
    file_menu.insertSeparator(first)  # type: ignore[arg-type]
    file_menu.insertActions(first, [a["add_images"], a["prev_image"], a["next_image"]])  # type: ignore[arg-type]
    file_menu.insertSeparator(first)  # type: ignore[arg-type]
    edit = w.menus["edit"]
    top = edit.actions()[0] if edit.actions() else None
    edit.insertActions(top, [a["undo"], a["redo"]])  # type: ignore[arg-type]
    edit.insertSeparator(top)  # type: ignore[arg-type]

    def refresh() -> None:
        editor, has_project = ctx.editor, projects.project is not None
        a["undo"].setEnabled(editor is not None and editor.can_undo)
        a["redo"].setEnabled(editor is not None and editor.can_redo)
        for key in ("save_project", "save_project_as", "close_project", "add_images",
                    "next_image", "prev_image"):  # fmt: skip
            a[key].setEnabled(has_project)

    ctx.history_changed.connect(refresh)
    ctx.editor_changed.connect(lambda _e: refresh())
    projects.project_changed.connect(lambda _p: refresh())
    window.session.document_changed.connect(projects._document_changed)
    refresh()
    return a
