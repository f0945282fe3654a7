"""Annotation as a feature: the tool bar, Edit > Undo / Redo, and projects.

The window calls :func:`install_annotation` once with its :class:`~app.context.AppContext`;
what it builds is reachable as ``window.annotation`` (an :class:`Annotation`).
Labelling needs a project, so the project feature (:mod:`app.project`) comes with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction

from app.actions import make_action
from app.context import AppContext
from app.project import install_projects
from app.project.commands import ProjectCommands
from app.project.dock import ProjectDock
from app.tools.context import AnnotationContext
from app.tools.toolbar import AnnotationToolBar


@dataclass(frozen=True)
class Annotation:
    """Everything annotation adds to a window."""

    ctx: AnnotationContext
    projects: ProjectCommands
    toolbar: AnnotationToolBar
    dock: ProjectDock
    actions: dict[str, QAction]


def install_annotation(context: AppContext, image_filter: str) -> Annotation:
    """Add the annotation tool bar, Edit > Undo / Redo, and the project feature."""
    ctx = AnnotationContext(context)
    toolbar = AnnotationToolBar(context, ctx)
    context.shell.add_toolbar(toolbar)
    projects = install_projects(context, ctx, image_filter)
    actions = {**projects.actions, **_undo_redo(context, ctx)}
    tools = {f"tool_{key}": action for key, action in toolbar.actions_by_key.items()}
    context.shell.actions_by_name.update(tools)
    return Annotation(ctx, projects.commands, toolbar, projects.dock, {**actions, **tools})


def _undo_redo(context: AppContext, ctx: AnnotationContext) -> dict[str, QAction]:
    w = context.shell.widget
    a = {
        "undo": make_action(w, "&Undo", ctx.undo, keys="Ctrl+Z", tip="Undo the last edit"),
        "redo": make_action(
            w, "&Redo", ctx.redo, keys=["Ctrl+Shift+Z", "Ctrl+Y"], tip="Redo the last undone edit"
        ),
    }
    edit = context.shell.menus["edit"]
    top = edit.actions()[0] if edit.actions() else None
    edit.insertActions(top, [a["undo"], a["redo"]])  # type: ignore[arg-type]
    edit.insertSeparator(top)  # type: ignore[arg-type]

    def refresh() -> None:
        editor = ctx.editor
        a["undo"].setEnabled(editor is not None and editor.can_undo)
        a["redo"].setEnabled(editor is not None and editor.can_redo)

    ctx.history_changed.connect(refresh)
    ctx.editor_changed.connect(lambda _e: refresh())
    refresh()
    context.shell.actions_by_name.update(a)
    return a
