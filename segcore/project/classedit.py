"""Changing a project's classes: add, rename, recolour, thing/stuff, reorder, delete.

Class ids always follow the list order (0..n-1, what training and models
expect). A change is a new class list plus a table from old ids to new ones;
when the table is not the identity (a class moved or was deleted) or a thing
class became stuff, every labelled image is rewritten through it
(:func:`segcore.labels.edits.fill.map_classes`), one journal record per image,
before ``project.json`` is replaced. The change is one undo step of its own
(:meth:`ClassEdits.undo`); the images' stroke histories are cleared by a change
that rewrote pixels, because their records hold the old ids.

Models are matched to classes by name (:mod:`segcore.labels.classmatch`); a
renamed class keeps its old names as aliases, so a model trained before the
change still finds its classes.

>>> from segcore.labels.schema import make_classes
>>> project = Project.create(tmp / "p", classes=make_classes(["bg", "cell"]))  # doctest: +SKIP
>>> project.class_edits.delete(1, merge_into=0)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from segcore.errors import LabelError, ProjectError, TesseraError
from segcore.labels.classmatch import names_of
from segcore.labels.editor import Editor
from segcore.labels.edits.fill import map_classes
from segcore.labels.history import Record, Side
from segcore.labels.schema import MAX_CLASSES, UNLABELLED, ClassInfo, Color, default_color

if TYPE_CHECKING:
    from segcore.project.project import Project


@dataclass(frozen=True)
class ClassChange:
    """One class edit: the class lists before and after, and each image's label record."""

    what: str
    before: tuple[ClassInfo, ...]
    after: tuple[ClassInfo, ...]
    records: tuple[tuple[str, Record], ...] = ()


class ClassEdits:
    """The class editing of one open project (``project.class_edits``), with undo and redo."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._done: list[ClassChange] = []
        self._undone: list[ClassChange] = []

    # -- edits ---------------------------------------------------------------------

    def add(self, name: str, *, color: Color | None = None, thing: bool = False) -> ClassInfo:
        """Append a class (its id is the number of classes so far)."""
        before = self._classes()
        if len(before) >= MAX_CLASSES - 1:
            raise LabelError(f"a project holds at most {MAX_CLASSES - 1} classes")
        name = self._free_name(name, before)
        info = ClassInfo(len(before), name, color or default_color(len(before), name), thing)
        after = [_drop_alias(c, name) for c in before] + [info]
        self._change(f"add class {name!r}", after, _identity())
        return info

    def rename(self, class_id: int, name: str) -> ClassInfo:
        """Rename a class; its old name becomes an alias (models trained before still match)."""
        before = self._classes()
        old = self._get(class_id)
        name = self._free_name(name, [c for c in before if c.id != class_id])
        aliases = tuple(a for a in (old.name, *old.aliases) if a.lower() != name.lower())
        new = replace(old, name=name, aliases=tuple(dict.fromkeys(aliases)))
        after = [new if c.id == class_id else _drop_alias(c, name) for c in before]
        self._change(f"rename class {old.name!r} to {name!r}", after, _identity())
        return new

    def recolor(self, class_id: int, color: Color) -> ClassInfo:
        old = self._get(class_id)
        if len(color) != 3 or not all(0 <= int(v) <= 255 for v in color):
            raise LabelError(f"a colour is three values 0..255, got {color!r}")
        new = replace(old, color=(int(color[0]), int(color[1]), int(color[2])))
        after = [new if c.id == class_id else c for c in self._classes()]
        self._change(f"recolour class {old.name!r}", after, _identity())
        return new

    def set_thing(self, class_id: int, thing: bool) -> ClassInfo:
        """Make a class a thing (countable objects) or stuff; stuff pixels lose their objects."""
        old = self._get(class_id)
        new = replace(old, thing=bool(thing))
        after = [new if c.id == class_id else c for c in self._classes()]
        kind = "thing" if thing else "stuff"
        clear = old.thing and not thing
        self._change(f"make class {old.name!r} {kind}", after, _identity(), clear=clear)
        return new

    def move(self, class_id: int, index: int) -> None:
        """Move a class to position ``index``; ids follow the new order (labels rewritten)."""
        before = self._classes()
        old = self._get(class_id)
        if not 0 <= index < len(before):
            raise LabelError(f"position {index} is outside 0..{len(before) - 1}")
        order = [c for c in before if c.id != class_id]
        order.insert(index, old)
        table = _identity()
        after: list[ClassInfo] = []
        for new_id, c in enumerate(order):
            table[c.id] = new_id
            after.append(replace(c, id=new_id))
        self._change(f"move class {old.name!r}", after, table)

    def delete(self, class_id: int, *, merge_into: int | None = None) -> None:
        """Delete a class: its pixels become unlabelled, or class ``merge_into``."""
        before = self._classes()
        old = self._get(class_id)
        if len(before) == 1:
            raise LabelError("a project needs at least one class; add another before deleting")
        target = None if merge_into is None else self._get(merge_into)
        if target is not None and target.id == class_id:
            raise LabelError(f"cannot merge class {old.name!r} into itself")
        table = _identity()
        after: list[ClassInfo] = []
        for c in before:
            if c.id == class_id:
                continue
            table[c.id] = len(after)
            after.append(replace(c, id=len(after)))
        table[class_id] = UNLABELLED if target is None else table[target.id]
        what = f"delete class {old.name!r}" + (f" into {target.name!r}" if target else "")
        self._change(what, after, table)

    # -- undo / redo ---------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def last(self) -> ClassChange | None:
        """The change :meth:`undo` would undo."""
        return self._done[-1] if self._done else None

    def undo(self) -> ClassChange | None:
        """Undo the last class change (classes and labels); None if there is none."""
        if not self._done:
            return None
        change = self._done[-1]
        self._restore(change, "old", change.before)
        self._undone.append(self._done.pop())
        return change

    def redo(self) -> ClassChange | None:
        if not self._undone:
            return None
        change = self._undone[-1]
        self._restore(change, "new", change.after)
        self._done.append(self._undone.pop())
        return change

    # -- internals -----------------------------------------------------------------

    def _classes(self) -> list[ClassInfo]:
        return self._project.classes

    def _get(self, class_id: int) -> ClassInfo:
        for c in self._classes():
            if c.id == class_id:
                return c
        names = ", ".join(f"{c.id} {c.name}" for c in self._classes())
        raise LabelError(f"the project has no class {class_id} (its classes: {names})")

    def _free_name(self, name: str, others: Sequence[ClassInfo]) -> str:
        name = name.strip()
        if not name:
            raise LabelError("a class needs a name")
        if any(name.lower() == c.name.lower() for c in others):
            raise LabelError(f"there is a class {name!r} already; pick another name")
        return name

    def _change(
        self, what: str, after: list[ClassInfo], table: np.ndarray, *, clear: bool = False
    ) -> None:
        project = self._project
        before = tuple(self._classes())
        rewrite = clear or any(int(table[c.id]) != c.id for c in before)
        records: list[tuple[str, Record]] = []
        if rewrite:
            stuff = frozenset(c.id for c in after if not c.thing)
            editors = self._labelled_editors()
            try:
                for image_id, editor in editors:
                    record = editor.apply_without_undo(map_classes, table, stuff=stuff)
                    if record is not None:
                        records.append((image_id, replace(record, name=what)))
            except TesseraError:
                self._roll_back(records)
                raise
        try:
            project._set_classes(after)
        except ProjectError:
            self._roll_back(records)
            raise
        self._after_change(rewrite)
        self._done.append(ClassChange(what, before, tuple(after), tuple(records)))
        self._undone.clear()

    def _labelled_editors(self) -> list[tuple[str, Editor]]:
        """The editors of every image that has labels (opened now, so errors come first)."""
        project = self._project
        if project.damage:  # their pixels could not follow; restored later, ids would lie
            names = ", ".join(sorted(project.damage))
            raise LabelError(
                f"labels of {names} are damaged, so they cannot follow this change; "
                "restore them or accept their loss first"
            )
        out = []
        for entry in project.images:
            if entry.id not in project._stores and not project.label_store_path(entry.id).exists():
                continue  # never labelled: nothing to rewrite
            editor = project.editor(entry.id)
            if editor.in_stroke:
                raise LabelError(f"cannot change classes while a stroke is drawn on {entry.id}")
            out.append((entry.id, editor))
        return out

    def _roll_back(self, records: list[tuple[str, Record]]) -> None:
        for image_id, record in reversed(records):
            self._project.editor(image_id).replay(record, "old")

    def _restore(self, change: ClassChange, side: Side, classes: tuple[ClassInfo, ...]) -> None:
        project = self._project
        if change.records:
            busy = [i for i, _ in change.records if project.editor(i).can_undo]
            if busy:
                raise LabelError(
                    f"labels of {', '.join(busy)} were edited after '{change.what}'; "
                    "undo those edits first"
                )
        done: list[tuple[str, Record]] = []
        for image_id, record in change.records:
            project.editor(image_id).replay(record, side)
            done.append((image_id, record))
        try:
            project._set_classes(list(classes))
        except ProjectError:
            for image_id, record in reversed(done):
                project.editor(image_id).replay(record, "new" if side == "old" else "old")
            raise
        self._after_change(bool(change.records))

    def _after_change(self, rewrote: bool) -> None:
        classes = self._classes()
        for editor in self._project._editors.values():
            editor.set_classes(classes)
            if rewrote:
                editor.history.clear()  # its records hold the old class ids


def _identity() -> np.ndarray:
    return np.arange(256, dtype=np.uint8)


def _drop_alias(info: ClassInfo, name: str) -> ClassInfo:
    """``info`` without alias ``name`` (a name now belongs to one class only)."""
    key = name.strip().lower()
    if key not in names_of(info)[1:]:
        return info
    return replace(info, aliases=tuple(a for a in info.aliases if a.strip().lower() != key))
