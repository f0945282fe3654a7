"""Classes edited from the Classes dock, and objects that stay separate (issue 19, 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from annotate_helpers import (
    click,
    drag,
    fix_view,
    labels,
    make_window,
    open_project,
    wait_editor,
    wait_idle,
)
from app_helpers import pixel, settle
from PySide6.QtWidgets import QInputDialog, QToolButton

from app.window import MainWindow
from segcore.labels.schema import UNLABELLED

BACKGROUND, CELL, DEBRIS = 0, 1, 2


def _rectangle(qtbot: Any, window: MainWindow, class_id: int, x0: int, y0: int, x1: int, y1: int):
    window.annotation.toolbar.choose("rectangle")
    assert window.annotation.ctx.set_class(class_id)
    drag(qtbot, window, [(x0, y0), (x1, y1)])
    wait_idle(qtbot, window)


def _dock_names(window: MainWindow) -> list[str]:
    return [c.name for c in window.classes_dock.classes]


def test_classes_are_edited_from_the_dock_and_undone_in_one_step(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot)
    root = open_project(qtbot, window, tmp_path)
    buttons = {b.text() for b in window.classes_dock.findChildren(QToolButton)}
    assert {"Add Class", "Rename", "Colour", "Thing/Stuff", "Up", "Down", "Delete"} <= buttons
    _rectangle(qtbot, window, DEBRIS, 2, 2, 9, 9)
    edit = window.annotation.classes
    answers = iter([("vessel *", True), ("dirt", True)])
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: next(answers)))
    assert edit.actions["class_add"].isEnabled()
    edit.actions["class_add"].trigger()
    assert _dock_names(window) == ["background", "cell", "debris", "vessel"]
    assert window.classes_dock.classes[3].thing
    assert window.annotation.toolbar.class_box.count() == 4  # the tool bar follows
    window.classes_dock.select_index(2)
    edit.actions["class_rename"].trigger()
    assert _dock_names(window)[2] == "dirt"
    edit.recolor((10, 200, 30))
    saved = json.loads((root / "project.json").read_text())
    assert saved["classes"][2] == {
        "id": 2, "name": "dirt", "color": [10, 200, 30], "thing": False, "aliases": ["debris"],
    }  # fmt: skip
    window.classes_dock.select_index(2)
    monkeypatch.setattr(
        QInputDialog, "getItem", staticmethod(lambda *a, **k: ("Merge into background", True))
    )
    edit.actions["class_delete"].trigger()
    assert _dock_names(window) == ["background", "cell", "vessel"]
    sem, _ = labels(window)
    assert (sem[2:10, 2:10] == BACKGROUND).all()
    settle(qtbot, window.canvas)
    shot = window.canvas.grab().toImage()
    x, y = window.canvas.viewport.to_screen(5.5, 5.5)
    overlay = window.canvas.layer("semantic")
    assert overlay is not None and [c.name for c in overlay.classes] == _dock_names(window)
    assert pixel(shot, round(x), round(y)) != (10, 200, 30)
    window.actions_by_name["undo"].trigger()  # Ctrl+Z: the whole delete, at once
    assert _dock_names(window) == ["background", "cell", "dirt", "vessel"]
    sem, _ = labels(window)
    assert (sem[2:10, 2:10] == DEBRIS).all()
    window.actions_by_name["redo"].trigger()
    assert _dock_names(window) == ["background", "cell", "vessel"]


def test_moving_a_class_keeps_what_was_painted(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    _rectangle(qtbot, window, DEBRIS, 2, 2, 9, 9)
    window.classes_dock.select_index(2)
    window.annotation.classes.actions["class_up"].trigger()
    assert _dock_names(window) == ["background", "debris", "cell"]
    assert window.classes_dock.current_class.name == "debris"  # type: ignore[union-attr]
    sem, _ = labels(window)
    assert (sem[2:10, 2:10] == 1).all() and sem[20, 40] == UNLABELLED  # debris is id 1 now


def test_far_strokes_are_separate_objects_after_save_and_reopen(qtbot: Any, tmp_path: Path) -> None:
    """The report's steps: a polygon, another class, save, reopen, a far brush stroke."""
    window = make_window(qtbot)
    root = open_project(qtbot, window, tmp_path)
    ctx, bar = window.annotation.ctx, window.annotation.toolbar
    bar.choose("polygon")
    ctx.set_class(CELL)
    for col, row in ((4, 4), (14, 4), (14, 14), (4, 14), (4, 4)):
        click(qtbot, window, col, row)
    wait_idle(qtbot, window)
    _rectangle(qtbot, window, DEBRIS, 20, 30, 30, 40)
    projects = window.annotation.projects
    assert projects.save()
    projects.close_project()
    projects.open_project(root)
    wait_editor(qtbot, window)
    bar.choose("brush")
    ctx.set_class(CELL)
    ctx.set_brush_size(3)
    drag(qtbot, window, [(50, 20), (56, 20)])  # a building far from the first
    _, inst = labels(window)
    first, second = int(inst[8, 8]), int(inst[20, 53])
    assert first and second and first != second, "the far stroke joined the first object"
    assert window.status.current_object.text() == f"Object #{second} (cell)"
    drag(qtbot, window, [(56, 21), (58, 21)])  # touches the second: extends it
    assert int(labels(window)[1][21, 58]) == second
    window.layers_dock.set_visible("semantic", False)
    window.layers_dock.set_visible("instance", True)
    fix_view(window)
    settle(qtbot, window.canvas)
    shot = window.canvas.grab().toImage()
    a = window.canvas.viewport.to_screen(9.5, 9.5)
    b = window.canvas.viewport.to_screen(53.5, 20.5)
    assert pixel(shot, round(a[0]), round(a[1])) != pixel(shot, round(b[0]), round(b[1]))


def test_separate_objects_can_be_turned_off(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    ctx = window.annotation.ctx
    window.actions_by_name["separate_objects"].setChecked(False)
    window.annotation.toolbar.choose("brush")
    ctx.set_class(CELL)
    ctx.set_brush_size(3)
    drag(qtbot, window, [(5, 5), (8, 5)])
    drag(qtbot, window, [(50, 30), (54, 30)])
    _, inst = labels(window)
    assert int(inst[5, 6]) == int(inst[30, 52]) != 0  # today's behaviour, when asked for
    project = window.annotation.projects.project
    assert project is not None and project.settings["separate_objects"] is False
    assert np.count_nonzero(inst) > 0
