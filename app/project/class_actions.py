"""Class editing from the Classes dock: add, rename, recolour, thing/stuff, reorder, delete.

The buttons under the Classes dock's list act on the selected class of the open
project through ``project.class_edits`` (:mod:`segcore.project.classedit`):
each change is one undo step (Edit > Undo takes it when it is the last thing
done on the image on screen), and labels are rewritten when ids move. After a
change the document's classes, the dock, the tool bar's class box and the label
overlays show the new list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QColorDialog, QInputDialog, QWidget

from app import errors
from app.actions import make_action
from app.context import AppContext
from app.layerset import reinstall_label_layers
from app.project.commands import ProjectCommands
from app.tools.context import AnnotationContext
from segcore.errors import TesseraError
from segcore.labels.schema import ClassInfo
from segcore.project.classedit import ClassEdits

UNLABEL = "Leave its pixels unlabelled"


def ask_name(parent: QWidget, title: str, current: str = "") -> str | None:
    text, ok = QInputDialog.getText(parent, title, "Class name (end with * for a thing class):",
                                    text=current)  # fmt: skip
    return text if ok and text.strip() else None


def ask_delete_target(parent: QWidget, doomed: ClassInfo, others: list[ClassInfo]) -> Any:
    """None: unlabel; a class id: merge into it; False: cancelled."""
    choices = [UNLABEL] + [f"Merge into {c.name}" for c in others]
    text, ok = QInputDialog.getItem(
        parent, f"Delete class {doomed.name}", "Its labelled pixels:", choices, 0, False
    )
    if not ok:
        return False
    return None if text == UNLABEL else others[choices.index(text) - 1].id


class ClassActions(QObject):
    """The class-editing commands of the open project, and their buttons."""

    def __init__(
        self, context: AppContext, commands: ProjectCommands, editing: AnnotationContext
    ) -> None:
        super().__init__(context.shell.widget)
        self.context, self.commands, self.editing = context, commands, editing
        self.parent_widget = context.shell.widget
        self._marks: list[int] = []  # per change: the editor's history length right after it
        w = self.parent_widget
        self.actions: dict[str, QAction] = {
            "class_add": make_action(w, "Add Class...", self.add, tip="Add a class to the project"),
            "class_rename": make_action(w, "Rename...", self.rename, tip="Rename the class"),
            "class_color": make_action(w, "Colour...", self.recolor, tip="Pick the class colour"),
            "class_kind": make_action(
                w, "Thing/Stuff", self.toggle_thing,
                tip="Thing: countable objects with instances; stuff: regions without",
            ),
            "class_up": make_action(w, "Up", lambda: self.move(-1), tip="Move the class up"),
            "class_down": make_action(w, "Down", lambda: self.move(1), tip="Move the class down"),
            "class_delete": make_action(
                w, "Delete...", self.delete,
                tip="Delete the class: its pixels become unlabelled or another class",
            ),
        }  # fmt: skip
        context.classes.add_edit_actions(list(self.actions.values()))
        context.classes.list.itemDoubleClicked.connect(lambda _item: self.rename())
        commands.project_changed.connect(lambda _p: self._project_changed())
        commands.image_opened.connect(lambda _i: self._enable())
        context.classes.current_class_changed.connect(lambda _c: self._enable())
        self._enable()

    # -- commands --------------------------------------------------------------------

    def add(self, name: str | None = None, *, thing: bool | None = None) -> ClassInfo | None:
        name = name if name is not None else ask_name(self.parent_widget, "Add Class")
        if name is None:
            return None
        name, star = name.strip(), name.strip().endswith("*")
        kind = star if thing is None else thing
        return self._apply(lambda edits: edits.add(name.rstrip("*").strip(), thing=kind))

    def rename(self, name: str | None = None) -> ClassInfo | None:
        current = self.context.classes.current_class
        if current is None:
            return None
        if name is None:
            name = ask_name(self.parent_widget, f"Rename {current.name}", current.name)
        if name is None or name.strip() == current.name:
            return None
        return self._apply(lambda edits: edits.rename(current.id, name))

    def recolor(self, color: tuple[int, int, int] | None = None) -> ClassInfo | None:
        current = self.context.classes.current_class
        if current is None:
            return None
        if color is None:
            picked = QColorDialog.getColor(QColor(*current.color), self.parent_widget)
            if not picked.isValid():
                return None
            color = (picked.red(), picked.green(), picked.blue())
        chosen = color
        return self._apply(lambda edits: edits.recolor(current.id, chosen))

    def toggle_thing(self) -> ClassInfo | None:
        current = self.context.classes.current_class
        if current is None:
            return None
        return self._apply(lambda edits: edits.set_thing(current.id, not current.thing))

    def move(self, step: int) -> None:
        current = self.context.classes.current_class
        project = self.commands.project
        if current is None or project is None:
            return
        index = [c.id for c in project.classes].index(current.id) + step
        if 0 <= index < len(project.classes):
            self._apply(lambda edits: edits.move(current.id, index), select=index)

    def delete(self, merge_into: Any = "ask") -> bool:
        current = self.context.classes.current_class
        project = self.commands.project
        if current is None or project is None:
            return False
        if merge_into == "ask":
            others = [c for c in project.classes if c.id != current.id]
            merge_into = ask_delete_target(self.parent_widget, current, others)
            if merge_into is False:
                return False
        target = merge_into
        return self._apply(lambda edits: edits.delete(current.id, merge_into=target)) is not None

    # -- undo / redo (Edit > Undo asks here first) -------------------------------------

    def takes(self, what: str) -> bool:
        """True when the next undo (redo) on screen is a class change."""
        project, editor = self.commands.project, self.editing.editor
        if project is None:
            return False
        edits = project.class_edits
        if what == "undo":
            done = len(editor.history) if editor is not None else 0
            return edits.can_undo and bool(self._marks) and done <= self._marks[-1]
        return edits.can_redo and (editor is None or not editor.can_redo)

    def step(self, what: str) -> bool:
        def run(edits: ClassEdits) -> object:
            change = edits.undo() if what == "undo" else edits.redo()
            return change

        if what == "undo":
            mark = self._marks.pop() if self._marks else 0
            if self._apply(run, remember=False) is None:
                self._marks.append(mark)
                return False
        else:
            if self._apply(run, remember=False) is None:
                return False
            editor = self.editing.editor
            self._marks.append(len(editor.history) if editor is not None else 0)
        return True

    # -- internals ------------------------------------------------------------------

    def _apply(
        self,
        change: Callable[[ClassEdits], Any],
        *,
        select: int | None = None,
        remember: bool = True,
    ) -> Any:
        project = self.commands.project
        if project is None:
            self.context.say("Open a project to edit its classes", 4000)
            return None
        current = self.context.classes.current_class
        self.editing.finish_job()
        self.editing.commit()
        try:
            with self.editing.lock:
                result = change(project.class_edits)
        except TesseraError as exc:
            errors.report(exc, context="change the classes")
            return None
        if remember:
            editor = self.editing.editor
            self._marks.append(len(editor.history) if editor is not None else 0)
        if select is None and isinstance(result, ClassInfo):
            select = result.id  # ids follow the list order
        self._show(select, current.name if current is not None else None)
        last = project.class_edits.last
        if last is not None and remember:
            self.context.say(f"Done: {last.what} (Ctrl+Z undoes it)", 6000)
        return result

    def _show(self, select: int | None, name: str | None) -> None:
        """Show the project's new classes everywhere; keep the same class selected."""
        project = self.commands.project
        assert project is not None
        classes = project.classes
        doc = self.context.session.document
        if doc is not None and self.commands.image_id is not None:
            doc.classes = tuple(classes)
            self.context.canvas.loader.wait()
            reinstall_label_layers(self.context.canvas, doc)
        self.context.classes.set_classes(classes, origin="project")
        names = [c.name for c in classes]
        row = select if select is not None else names.index(name) if name in names else 0
        self.context.classes.select_index(row)
        self.editing.history_changed.emit()
        self.editing.object_changed.emit(None)
        self._enable()

    def _project_changed(self) -> None:
        self._marks.clear()
        self._enable()

    def _enable(self) -> None:
        open_ = self.commands.project is not None and self.commands.image_id is not None
        selected = open_ and self.context.classes.current_class is not None
        for key, action in self.actions.items():
            action.setEnabled(open_ if key == "class_add" else selected)
