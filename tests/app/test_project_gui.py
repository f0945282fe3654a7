"""Projects from the GUI: new / save / reopen, Save As, image list and progress,
next / previous, a missing image relocated, bad input answered with a dialog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from annotate_helpers import (
    CLASSES,
    HEIGHT,
    WIDTH,
    drag,
    labels,
    make_window,
    open_project,
    wait_editor,
    wait_idle,
    write_image,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from app.project.dialogs import parse_classes
from app.project.dock import FRACTION_ROLE, percent
from app.window import MainWindow
from segcore.errors import LabelError
from segcore.labels.schema import UNLABELLED

DEBRIS = 2


def paint_block(qtbot: Any, window: MainWindow, x0: int, y0: int, x1: int, y1: int) -> None:
    window.annotation.toolbar.choose("rectangle")
    window.annotation.ctx.set_class(DEBRIS)
    drag(qtbot, window, [(x0, y0), (x1, y1)])
    wait_idle(qtbot, window)


def dock_rows(window: MainWindow) -> list[tuple[str, float]]:
    tree = window.annotation.dock.list
    rows = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        assert item is not None
        rows.append((item.text(0), float(item.data(1, FRACTION_ROLE))))
    return rows


def test_new_project_from_open_image_save_and_reopen(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    window = make_window(qtbot)
    image = write_image(tmp_path / "cells.tif")
    with qtbot.waitSignal(window.session.document_changed, timeout=15_000):
        window.open_path(image)
    folder = tmp_path / "my project"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(folder), ""))
    monkeypatch.setattr(
        QInputDialog, "getMultiLineText", lambda *a, **k: ("background\ncell *\ndebris", True)
    )
    window.annotation.actions["new_project"].trigger()
    projects = window.annotation.projects
    assert projects.project is not None and window.session.project is projects.project
    assert [c.name for c in projects.project.classes] == ["background", "cell", "debris"]
    assert projects.project.classes[1].thing
    wait_editor(qtbot, window)  # the open image became the project's first image
    assert dock_rows(window) == [("cells", 0.0)]
    paint_block(qtbot, window, 3, 4, 12, 9)  # 10 x 6 pixels
    assert dock_rows(window) == [("cells", 60 / (WIDTH * HEIGHT))]
    qtbot.keyClick(window.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = json.loads((folder / "project.json").read_text())
    assert saved["images"][0]["path"] == "../cells.tif"  # relative: the folder can move
    labelled = saved["images"][0]["labelled"]  # rounded in the file
    assert labelled == pytest.approx(60 / (WIDTH * HEIGHT), abs=1e-6)
    window.annotation.actions["close_project"].trigger()
    assert projects.project is None and window.session.document is None
    assert dock_rows(window) == []

    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *a, **k: (str(folder / "project.json"), "")
    )
    window.annotation.actions["open_project"].trigger()
    wait_editor(qtbot, window)
    expected = np.full((HEIGHT, WIDTH), UNLABELLED, np.uint8)
    expected[4:10, 3:13] = DEBRIS
    np.testing.assert_array_equal(labels(window)[0], expected)
    assert window.windowTitle().startswith("cells.tif")


def test_closing_the_window_keeps_every_stroke(qtbot: Any, tmp_path: Path):
    window = make_window(qtbot)
    folder = open_project(qtbot, window, tmp_path)
    paint_block(qtbot, window, 0, 0, 3, 3)
    window.close()  # saves the project
    second = make_window(qtbot)
    second.annotation.projects.open_project(folder)
    wait_editor(qtbot, second)
    assert (labels(second)[0][0:4, 0:4] == DEBRIS).all()
    assert int((labels(second)[0] != UNLABELLED).sum()) == 16


def test_save_as_moves_the_project_and_keeps_editing(qtbot: Any, tmp_path: Path):
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    paint_block(qtbot, window, 0, 0, 1, 1)
    assert window.annotation.projects.save_as(tmp_path / "copy")
    paint_block(qtbot, window, 10, 10, 11, 11)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.annotation.projects.save()
    project = window.annotation.projects.project
    assert project is not None and project.root == tmp_path / "copy"
    store = project.label_store("cells")
    assert int((store.read("semantic", 0, 0, WIDTH, HEIGHT) == DEBRIS).sum()) == 8
    # the canvas overlay reads the moved store: its tiles come back with the new pixels
    assert window.session.document is not None
    assert window.session.document.labels is store


def test_image_list_next_previous_and_progress(qtbot: Any, tmp_path: Path):
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    other = write_image(tmp_path / "more.tif")
    window.annotation.projects.add_images([other])
    assert [name for name, _ in dock_rows(window)] == ["cells", "more"]
    paint_block(qtbot, window, 0, 0, 7, 7)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    wait_editor(qtbot, window)
    qtbot.waitUntil(lambda: window.annotation.projects.image_id == "more")
    assert not (labels(window)[0] != UNLABELLED).any()  # the second image has no labels yet
    rows = dict(dock_rows(window))
    assert rows == {"cells": 64 / (WIDTH * HEIGHT), "more": 0.0}
    window.annotation.dock.prev_button.click()
    qtbot.waitUntil(lambda: window.annotation.projects.image_id == "cells", timeout=15_000)
    wait_editor(qtbot, window)
    assert int((labels(window)[0] == DEBRIS).sum()) == 64
    assert percent(64 / (WIDTH * HEIGHT)) == "2.1 %"


def test_missing_image_is_located(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    window = make_window(qtbot)
    folder = open_project(qtbot, window, tmp_path)
    paint_block(qtbot, window, 5, 5, 6, 6)
    window.annotation.projects.close_project()
    moved = tmp_path / "elsewhere" / "cells.tif"
    moved.parent.mkdir()
    shutil.move(tmp_path / "cells.tif", moved)

    asked: list[str] = []

    def question(parent: Any, title: str, text: str, *a: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(moved), ""))
    window.annotation.projects.open_project(folder)
    wait_editor(qtbot, window)
    assert len(asked) == 1 and "cells" in asked[0]
    assert int((labels(window)[0] == DEBRIS).sum()) == 4
    saved = json.loads((folder / "project.json").read_text())
    assert saved["images"][0]["path"] == "../elsewhere/cells.tif"


def test_missing_image_declined_opens_nothing(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    window = make_window(qtbot)
    folder = open_project(qtbot, window, tmp_path)
    window.annotation.projects.close_project()
    (tmp_path / "cells.tif").unlink()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.annotation.projects.open_project(folder)
    assert window.session.document is None and window.annotation.ctx.editor is None
    tree = window.annotation.dock.list
    item = tree.topLevelItem(0)
    assert item is not None and "Missing" in item.toolTip(0)


def test_wrong_image_when_locating_is_refused(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: list[str]
):
    import tifffile

    window = make_window(qtbot)
    folder = open_project(qtbot, window, tmp_path)
    window.annotation.projects.close_project()
    (tmp_path / "cells.tif").unlink()
    wrong = tmp_path / "wrong.tif"
    tifffile.imwrite(wrong, np.zeros((10, 10), np.uint8))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(wrong), ""))
    window.annotation.projects.open_project(folder)
    assert window.annotation.ctx.editor is None
    assert any("10x10" in text and "pick the same image" in text for text in dialogs)
    saved = json.loads((folder / "project.json").read_text())
    assert saved["images"][0]["path"] == "../cells.tif"  # untouched


def test_bad_input_is_a_dialog_not_a_crash(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: list[str]
):
    window = make_window(qtbot)
    projects = window.annotation.projects
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "p"), ""))
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("cell\ncell *", True))
    assert projects.new_project() is None
    assert any("unique" in text for text in dialogs)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "project.json").write_text("{not json")
    assert projects.open_project(tmp_path / "broken") is None
    assert len(dialogs) == 2 and projects.project is None
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    assert projects.new_project(tmp_path / "full", classes=CLASSES) is None
    assert "not an empty folder" in dialogs[-1]


def test_parse_classes():
    classes = parse_classes("# comment\nbackground\n\n  cell *  \nroad", CLASSES)
    assert [(c.id, c.name, c.thing) for c in classes] == [
        (0, "background", False), (1, "cell", True), (2, "road", False),
    ]  # fmt: skip
    assert classes[1].color == CLASSES[1].color  # known names keep their colour
    with pytest.raises(LabelError):
        parse_classes("\n\n")
