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
from app.project.class_actions import ClassActions
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
    classes: ClassActions  # class editing (Classes dock buttons)


def install_annotation(context: AppContext, image_filter: str) -> Annotation:
    """Add the annotation tool bar, Edit > Undo / Redo, and the project feature."""
    ctx = AnnotationContext(context)
    toolbar = AnnotationToolBar(context, ctx)
    context.shell.add_toolbar(toolbar)
    projects = install_projects(context, ctx, image_filter)
    actions = {**projects.actions, **_undo_redo(context, ctx), **_objects(context, ctx)}
    tools = {f"tool_{key}": action for key, action in toolbar.actions_by_key.items()}
    context.shell.actions_by_name.update(tools)
    everything = {**actions, **tools}
    return Annotation(ctx, projects.commands, toolbar, projects.dock, everything, projects.classes)


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
        a["undo"].setEnabled(ctx.can_undo)
        a["redo"].setEnabled(ctx.can_redo)

    ctx.history_changed.connect(refresh)
    ctx.editor_changed.connect(lambda _e: refresh())
    refresh()
    context.shell.actions_by_name.update(a)
    return a


def _objects(context: AppContext, ctx: AnnotationContext) -> dict[str, QAction]:
    """The current object in the status bar; Edit > Separate Objects (on by default)."""
    show = getattr(context.status, "show_object", None)

    def update(*_args: object) -> None:
        if show is not None:
            show(ctx.object_text())

    for signal in (ctx.history_changed, ctx.editor_changed, ctx.object_changed,
                   context.classes.current_class_changed):  # fmt: skip
        signal.connect(update)
    separate = make_action(
        context.shell.widget, "Separate &Objects", lambda: None,
        tip="A thing stroke that does not touch the current object starts a new object "
        "(off: every stroke extends the current object, N starts a new one)",
    )  # fmt: skip
    separate.setCheckable(True)
    separate.setChecked(True)
    separate.toggled.connect(ctx.set_separate_objects)

    def follow(_editor: object) -> None:
        editor = ctx.editor
        if editor is not None:
            separate.setChecked(editor.separate_objects)

    ctx.editor_changed.connect(follow)
    context.shell.menus["edit"].addAction(separate)
    context.shell.actions_by_name["separate_objects"] = separate
    return {"separate_objects": separate}
