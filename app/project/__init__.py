"""The project feature: its commands, dialogs, dock and File menu entries, together.

:func:`install_projects` builds :class:`~app.project.commands.ProjectCommands`
(the open project and what can be done with it), the Project dock
(:mod:`app.project.dock`), the File menu entries and class editing
(:mod:`app.project.class_actions`); the dialogs the commands ask with are in
:mod:`app.project.dialogs`. Closing the window saves and
closes the project first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from app.actions import make_action
from app.context import AppContext
from app.project.class_actions import ClassActions
from app.project.commands import ProjectCommands
from app.project.dock import ProjectDock
from app.tools.context import AnnotationContext


@dataclass(frozen=True)
class ProjectFeature:
    """What the project feature adds: its commands, its dock and its actions by name."""

    commands: ProjectCommands
    dock: ProjectDock
    actions: dict[str, QAction]
    classes: ClassActions


def install_projects(
    context: AppContext, editing: AnnotationContext, image_filter: str
) -> ProjectFeature:
    """Add the Project dock (left) and the project commands to the File menu."""
    commands = ProjectCommands(context, editing, image_filter)
    dock = ProjectDock(commands)
    context.shell.add_dock(dock, Qt.DockWidgetArea.LeftDockWidgetArea)
    actions = _menu(context, commands)
    context.shell.closing.connect(commands.shutdown)
    editing.needs_project.connect(commands.offer_project)
    classes = ClassActions(context, commands, editing)
    editing.class_steps = classes  # Edit > Undo / Redo take a class change when it is next
    context.shell.actions_by_name.update(classes.actions)
    return ProjectFeature(commands, dock, {**actions, **classes.actions}, classes)


def _menu(context: AppContext, commands: ProjectCommands) -> dict[str, QAction]:
    """File menu: New / Open / Save / Save As / Close Project, Add Images, Previous / Next."""
    w = context.shell.widget
    a: dict[str, QAction] = {}
    a["new_project"] = make_action(
        w, "&New Project...", commands.new_project, keys="Ctrl+Shift+N",
        tip="Create a project folder; the open image becomes its first image",
    )  # fmt: skip
    a["open_project"] = make_action(
        w, "Open &Project...", commands.open_project, keys="Ctrl+Shift+O",
        tip="Open a project folder (its project.json)",
    )  # fmt: skip
    a["save_project"] = make_action(
        w, "&Save Project", commands.save, keys=QKeySequence.StandardKey.Save,
        tip="Save labels and project (every stroke is already safe in the journal)",
    )  # fmt: skip
    a["save_project_as"] = make_action(
        w, "Save Project &As...", commands.save_as, keys=QKeySequence.StandardKey.SaveAs,
        tip="Copy the project to a new folder and continue there",
    )  # fmt: skip
    a["close_project"] = make_action(w, "Close P&roject", commands.close_project)
    recent = QMenu("Recent Pro&jects", w)
    a["recent_projects"] = recent.menuAction()
    a["add_shown_image"] = make_action(
        w, "Add &This Image to Project", commands.add_shown_image,
        tip="The image on screen joins the open project, so it can be labelled",
    )  # fmt: skip
    a["add_images"] = make_action(
        w, "Add &Images to Project...", commands.add_images, tip="Add image files to the project"
    )
    a["next_image"] = make_action(
        w, "Ne&xt Image", lambda: commands.step_image(1), keys="Alt+Right",
        tip="Open the next image of the project",
    )  # fmt: skip
    a["prev_image"] = make_action(
        w, "Pre&vious Image", lambda: commands.step_image(-1), keys="Alt+Left",
        tip="Open the previous image of the project",
    )  # fmt: skip
    file_menu = context.shell.menus["file"]
    first = file_menu.actions()[0] if file_menu.actions() else None
    names = ("new_project", "open_project", "recent_projects", "save_project",
             "save_project_as", "close_project")  # fmt: skip
    project_items = [a[k] for k in names]
    file_menu.insertActions(first, project_items)  # type: ignore[arg-type]
    file_menu.insertSeparator(first)  # type: ignore[arg-type]
    adding = [a[k] for k in ("add_images", "add_shown_image", "prev_image", "next_image")]
    file_menu.insertActions(first, adding)  # type: ignore[arg-type]
    file_menu.insertSeparator(first)  # type: ignore[arg-type]

    always = (a["new_project"], a["open_project"], a["recent_projects"])

    def refresh() -> None:
        for action in a.values():
            if action not in always:
                action.setEnabled(commands.project is not None)
        a["add_shown_image"].setEnabled(
            commands.project is not None
            and context.session.document is not None
            and commands.image_id is None
        )

    def fill_recent() -> None:
        recent.clear()
        for folder in commands.recent_projects():
            action = recent.addAction(folder)
            action.setData(folder)
            action.triggered.connect(lambda _c=False, f=folder: commands.open_project(Path(f)))
        recent.setEnabled(bool(recent.actions()))

    commands.project_changed.connect(lambda _p: refresh())
    commands.image_opened.connect(lambda _i: refresh())
    context.session.document_changed.connect(lambda _d: refresh())
    commands.recent_changed.connect(fill_recent)
    fill_recent()
    refresh()
    context.shell.actions_by_name.update(a)
    return a
