"""Annotation tools driven by qtbot mouse and key events; exact label store pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from annotate_helpers import (
    HEIGHT,
    WIDTH,
    at,
    click,
    drag,
    labels,
    make_window,
    open_project,
    wait_idle,
)
from PySide6.QtCore import Qt

from app.tools.context import AnnotationContext
from app.tools.toolbar import TOOLS, checked_tool_key
from app.window import MainWindow
from segcore.labels.schema import UNLABELLED

BACKGROUND, CELL, DEBRIS = 0, 1, 2


@pytest.fixture
def win(qtbot: Any, tmp_path: Path) -> MainWindow:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    return window


def ctx_of(window: MainWindow) -> AnnotationContext:
    return window.annotation.ctx


def use(window: MainWindow, key: str, cls: int | None = None) -> None:
    window.annotation.toolbar.choose(key)
    if cls is not None:
        assert ctx_of(window).set_class(cls)


def empty() -> np.ndarray:
    return np.full((HEIGHT, WIDTH), UNLABELLED, np.uint8)


def test_brush_stroke_paints_exact_pixels_and_shows_while_drawn(win: MainWindow, qtbot: Any):
    use(win, "brush", DEBRIS)
    ctx_of(win).set_brush_size(3)  # radius 1.5: a 3x3 square per dab
    canvas = win.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at(win, 10, 10))  # fmt: skip
    for col in range(11, 21):
        qtbot.mouseMove(canvas, at(win, col, 10))
    assert ctx_of(win).in_stroke  # drawn but not committed yet ...
    assert labels(win)[0][10, 15] == DEBRIS  # ... and already in the store (visible)
    assert not ctx_of(win).editor.can_undo  # type: ignore[union-attr]
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       at(win, 20, 10))  # fmt: skip
    expected = empty()
    expected[9:12, 9:22] = DEBRIS
    sem, inst = labels(win)
    np.testing.assert_array_equal(sem, expected)
    assert not inst.any()  # debris is stuff: no instance ids
    assert ctx_of(win).editor.can_undo  # type: ignore[union-attr]


def test_eraser_and_bracket_keys(win: MainWindow, qtbot: Any):
    use(win, "rectangle", BACKGROUND)
    drag(qtbot, win, [(4, 4), (30, 20)])
    wait_idle(qtbot, win)
    ctx = ctx_of(win)
    ctx.set_brush_size(3)
    use(win, "eraser")
    qtbot.keyClick(win.canvas, Qt.Key.Key_BracketRight)  # 3 -> 4
    qtbot.keyClick(win.canvas, Qt.Key.Key_BracketLeft)  # 4 -> 3
    qtbot.keyClick(win.canvas, Qt.Key.Key_BracketLeft)  # 3 -> 2: radius 1, a plus sign
    assert ctx.brush_size == 2
    assert win.annotation.toolbar.size_box.value() == 2
    drag(qtbot, win, [(10, 12), (10, 12)])
    expected = empty()
    expected[4:21, 4:31] = BACKGROUND
    for col, row in ((10, 12), (9, 12), (11, 12), (10, 11), (10, 13)):
        expected[row, col] = UNLABELLED
    np.testing.assert_array_equal(labels(win)[0], expected)


def test_polygon_closes_on_first_vertex(win: MainWindow, qtbot: Any):
    use(win, "polygon", DEBRIS)
    for col, row in ((10, 10), (20, 10), (20, 20), (10, 20), (10, 10)):
        click(qtbot, win, col, row)
    wait_idle(qtbot, win)
    expected = empty()
    expected[10:21, 10:21] = DEBRIS
    np.testing.assert_array_equal(labels(win)[0], expected)


def test_polygon_enter_escape_and_backspace(win: MainWindow, qtbot: Any):
    use(win, "polygon", DEBRIS)
    for col, row in ((2, 2), (8, 2), (8, 8)):
        click(qtbot, win, col, row)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)  # dropped
    for col, row in ((2, 2), (8, 2), (40, 40), (8, 8)):
        click(qtbot, win, col, row)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Backspace)  # removes (8, 8)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Backspace)  # removes (40, 40)
    click(qtbot, win, 8, 8)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    wait_idle(qtbot, win)
    sem = labels(win)[0]
    assert sem[2, 2] == sem[2, 8] == sem[8, 8] == sem[3, 7] == DEBRIS
    assert sem[8, 2] == UNLABELLED and sem[40, 40] == UNLABELLED
    assert int((sem == DEBRIS).sum()) == 28  # triangle with legs of 7 pixels: 7 * 8 / 2


def test_lasso_and_rectangle(win: MainWindow, qtbot: Any):
    use(win, "lasso", DEBRIS)
    drag(qtbot, win, [(30, 5), (40, 5), (40, 15), (30, 15)])
    wait_idle(qtbot, win)
    use(win, "rectangle", BACKGROUND)
    drag(qtbot, win, [(2, 30), (5, 33)])
    wait_idle(qtbot, win)
    expected = empty()
    expected[5:16, 30:41] = DEBRIS
    expected[30:34, 2:6] = BACKGROUND
    np.testing.assert_array_equal(labels(win)[0], expected)


def test_fill_stops_at_a_brush_line(win: MainWindow, qtbot: Any):
    use(win, "brush", DEBRIS)
    ctx_of(win).set_brush_size(1)  # one pixel wide
    drag(qtbot, win, [(30, 0), (30, HEIGHT - 1)])
    use(win, "fill", BACKGROUND)
    click(qtbot, win, 5, 5)
    wait_idle(qtbot, win)
    expected = empty()
    expected[:, 30] = DEBRIS
    expected[:, :30] = BACKGROUND
    np.testing.assert_array_equal(labels(win)[0], expected)


def test_magic_wand_takes_the_bright_square(win: MainWindow, qtbot: Any):
    use(win, "wand", DEBRIS)
    win.annotation.toolbar.tolerance_box.setValue(10)
    click(qtbot, win, 25, 15)
    wait_idle(qtbot, win)
    expected = empty()
    expected[10:26, 20:36] = DEBRIS
    np.testing.assert_array_equal(labels(win)[0], expected)


def test_grabcut_box_takes_the_object(win: MainWindow, qtbot: Any):
    use(win, "grabcut", CELL)
    drag(qtbot, win, [(16, 6), (39, 29)])
    wait_idle(qtbot, win)
    sem, inst = labels(win)
    expected = empty()
    expected[10:26, 20:36] = CELL
    np.testing.assert_array_equal(sem, expected)
    assert len(np.unique(inst[10:26, 20:36])) == 1 and inst[10, 20] != 0


def test_undo_redo_shortcuts(win: MainWindow, qtbot: Any):
    use(win, "rectangle", DEBRIS)
    drag(qtbot, win, [(1, 1), (3, 3)])
    wait_idle(qtbot, win)
    drag(qtbot, win, [(10, 1), (12, 3)])
    wait_idle(qtbot, win)
    first, both = empty(), empty()
    first[1:4, 1:4] = DEBRIS
    both[1:4, 1:4] = both[1:4, 10:13] = DEBRIS
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, ctrl)
    np.testing.assert_array_equal(labels(win)[0], first)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, ctrl)
    np.testing.assert_array_equal(labels(win)[0], empty())
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, ctrl | shift)
    np.testing.assert_array_equal(labels(win)[0], first)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Y, ctrl)
    np.testing.assert_array_equal(labels(win)[0], both)
    assert not win.annotation.actions["redo"].isEnabled()


def test_class_keys_and_tool_shortcuts(win: MainWindow, qtbot: Any):
    qtbot.keyClick(win.canvas, Qt.Key.Key_3)
    assert ctx_of(win).class_id == DEBRIS
    assert win.annotation.toolbar.class_box.currentData() == DEBRIS
    qtbot.keyClick(win.canvas, Qt.Key.Key_1)
    assert ctx_of(win).class_id == BACKGROUND
    for spec in TOOLS:
        action = win.annotation.toolbar.actions_by_key[spec.key]
        assert action.toolTip() and not action.icon().isNull()
        if spec.shortcut:
            assert action.shortcut().toString() == spec.shortcut
    qtbot.keyClick(win.canvas, Qt.Key.Key_L)
    assert checked_tool_key(win.annotation.toolbar) == "lasso"
    assert win.canvas.tool.name == "Lasso"
    qtbot.keyClick(win.canvas, Qt.Key.Key_B)
    assert win.canvas.tool.name == "Brush"


def test_instances_new_merge_split_delete(win: MainWindow, qtbot: Any):
    use(win, "rectangle", CELL)
    drag(qtbot, win, [(2, 2), (6, 6)])  # cell instance a
    wait_idle(qtbot, win)
    drag(qtbot, win, [(8, 2), (12, 6)])  # a new instance b (one shape, one object)
    wait_idle(qtbot, win)
    inst = labels(win)[1]
    a, b = int(inst[2, 2]), int(inst[2, 8])
    assert a and b and a != b
    use(win, "merge")
    click(qtbot, win, 3, 3)  # keep a
    click(qtbot, win, 9, 3)  # merge b into a
    wait_idle(qtbot, win)
    sem, inst = labels(win)
    assert set(np.unique(inst[2:7, 8:13])) == {a}
    assert (sem[2:7, 8:13] == CELL).all()
    use(win, "rectangle", CELL)
    drag(qtbot, win, [(20, 30), (24, 34)])
    wait_idle(qtbot, win)
    c = int(labels(win)[1][30, 20])
    use(win, "split")
    drag(qtbot, win, [(22, 28), (22, 36)])
    wait_idle(qtbot, win)
    inst = labels(win)[1]
    left, right = set(np.unique(inst[30:35, 20:22])), set(np.unique(inst[30:35, 23:25]))
    assert len(left) == len(right) == 1 and left != right and c in left | right
    use(win, "delete")
    click(qtbot, win, 4, 4)
    wait_idle(qtbot, win)
    sem, inst = labels(win)
    assert (sem[2:7, 2:13] == UNLABELLED).all() and not inst[2:7, 2:13].any()
    assert (sem[30:35, 20:25] == CELL).all()  # the other object is untouched


def test_brush_extends_selected_instance_and_n_starts_new(win: MainWindow, qtbot: Any):
    use(win, "brush", CELL)
    ctx_of(win).set_brush_size(1)
    drag(qtbot, win, [(5, 5), (8, 5)])
    first = int(labels(win)[1][5, 5])
    qtbot.keyClick(win.canvas, Qt.Key.Key_N)
    drag(qtbot, win, [(5, 9), (8, 9)])
    second = int(labels(win)[1][9, 5])
    assert first and second and first != second
    use(win, "select")
    click(qtbot, win, 6, 5)
    use(win, "brush")
    drag(qtbot, win, [(5, 7), (8, 7)])
    assert int(labels(win)[1][7, 6]) == first
    use(win, "eyedropper", BACKGROUND)
    click(qtbot, win, 6, 9)
    assert ctx_of(win).class_id == CELL
    assert ctx_of(win).editor.current_instance == second  # type: ignore[union-attr]


def test_watershed_scribbles_and_superpixel(win: MainWindow, qtbot: Any):
    use(win, "watershed", DEBRIS)
    drag(qtbot, win, [(25, 15), (30, 18)])  # on the bright square
    canvas = win.canvas
    right = Qt.MouseButton.RightButton
    qtbot.mousePress(canvas, right, Qt.KeyboardModifier.NoModifier, at(win, 10, 35))
    qtbot.mouseMove(canvas, at(win, 50, 35))
    qtbot.mouseRelease(canvas, right, Qt.KeyboardModifier.NoModifier, at(win, 50, 35))
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    wait_idle(qtbot, win)
    expected = empty()
    expected[10:26, 20:36] = DEBRIS
    # The square's corner pixels lie on the Sobel ridges of two edges at once; the
    # background's basin reaches them first.
    expected[[10, 10, 25, 25], [20, 35, 20, 35]] = UNLABELLED
    np.testing.assert_array_equal(labels(win)[0], expected)
    use(win, "superpixel", BACKGROUND)
    click(qtbot, win, 2, 45)
    wait_idle(qtbot, win)
    sem = labels(win)[0]
    assert sem[45, 2] == BACKGROUND
    assert 4 <= int((sem == BACKGROUND).sum()) <= 64  # one small superpixel of the corner
    assert (sem[11:25, 21:35] == DEBRIS).all()  # the bright square is another superpixel


def test_accept_prediction_copies_the_segment(win: MainWindow, qtbot: Any):
    session = win.session
    prediction = session.new_prediction(tuple(win.annotation.ctx.classes))
    classes = np.full((HEIGHT, WIDTH), BACKGROUND, np.uint8)
    classes[10:26, 20:36] = CELL
    session.add_prediction(0, 0, classes, None)
    assert session.prediction is prediction
    use(win, "accept")
    click(qtbot, win, 22, 12)
    wait_idle(qtbot, win)
    sem, inst = labels(win)
    expected = empty()
    expected[10:26, 20:36] = CELL
    np.testing.assert_array_equal(sem, expected)
    ids = np.unique(inst[10:26, 20:36])
    assert len(ids) == 1 and ids[0] != 0


def test_tools_are_disabled_without_a_project_image(qtbot: Any):
    window = make_window(qtbot)
    actions = window.annotation.toolbar.actions_by_key
    assert not actions["brush"].isEnabled()
    assert not window.annotation.actions["undo"].isEnabled()
    assert window.annotation.ctx.ready() is None
    assert "project" in window.statusBar().currentMessage()


def test_a_journal_failure_rolls_the_stroke_back_with_a_dialog(
    win: MainWindow, qtbot: Any, monkeypatch: pytest.MonkeyPatch, dialogs: list[str]
):
    from segcore.errors import ProjectError

    editor = ctx_of(win).editor
    assert editor is not None and editor.journal is not None

    def full(record: object) -> None:
        raise ProjectError("disk full while writing the journal; free space")

    monkeypatch.setattr(editor.journal, "append", full)
    use(win, "brush", DEBRIS)
    drag(qtbot, win, [(5, 5), (9, 5)])
    np.testing.assert_array_equal(labels(win)[0], empty())  # nothing unsaved stays on screen
    assert any("disk full" in text for text in dialogs)
    assert not editor.in_stroke and not editor.can_undo


def test_a_failing_worker_edit_is_cancelled_with_a_dialog(
    win: MainWindow, qtbot: Any, dialogs: list[str]
):
    session = win.session
    session.new_prediction(())
    session.add_prediction(0, 0, np.full((HEIGHT, WIDTH), 7, np.uint8), None)  # unknown class
    use(win, "accept")
    click(qtbot, win, 3, 3)
    wait_idle(qtbot, win)
    np.testing.assert_array_equal(labels(win)[0], empty())
    assert any("class id 7" in text for text in dialogs)
    assert not ctx_of(win).editor.in_stroke  # type: ignore[union-attr]
    use(win, "rectangle", DEBRIS)  # and the next edit works
    drag(qtbot, win, [(0, 0), (0, 0)])
    wait_idle(qtbot, win)
    assert labels(win)[0][0, 0] == DEBRIS


def test_stroke_is_on_the_canvas_before_release_and_outline_follows_zoom(
    win: MainWindow, qtbot: Any
):
    from app_helpers import pixel, settle

    from app.tools.brush import BrushTool

    use(win, "brush", DEBRIS)
    ctx_of(win).set_brush_size(6)
    canvas = win.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at(win, 8, 30))  # fmt: skip
    qtbot.mouseMove(canvas, at(win, 40, 30))
    settle(qtbot, canvas)
    shot = canvas.grab().toImage()
    painted, untouched = (
        pixel(shot, *at(win, 24, 30).toTuple()),
        pixel(shot, *at(win, 24, 40).toTuple()),
    )
    debris = ctx_of(win).class_info(DEBRIS).color  # type: ignore[union-attr]
    # The Labels layer is drawn at opacity 0.5 over the image (grey 20).
    blended = [0.5 * c + 0.5 * 20 for c in debris]
    assert max(abs(p - q) for p, q in zip(painted, blended, strict=True)) <= 2, (painted, blended)
    assert untouched == (20, 20, 20)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       at(win, 40, 30))  # fmt: skip
    tool = canvas.tool
    assert isinstance(tool, BrushTool)
    small = tool._outline_rect(canvas)
    canvas.viewport.zoom *= 2
    large = tool._outline_rect(canvas)
    assert small is not None and large is not None
    assert large.width() - 8 == 2 * (small.width() - 8)  # radius x zoom (+ 4 px margin)


def test_another_thing_class_starts_another_object(qtbot: Any, tmp_path: Path):
    from annotate_helpers import wait_editor

    from segcore.labels.schema import make_classes

    window = make_window(qtbot)
    open_project(
        qtbot, window, tmp_path, make_classes(["bg", "cell", "nucleus"], {"cell", "nucleus"})
    )
    wait_editor(qtbot, window)
    use(window, "brush", 1)
    ctx_of(window).set_brush_size(1)
    drag(qtbot, window, [(2, 2), (4, 2)])
    drag(qtbot, window, [(2, 3), (4, 3)])  # same class: the same object
    use(window, "brush", 2)
    drag(qtbot, window, [(2, 6), (4, 6)])  # another thing class: a new object
    inst = labels(window)[1]
    assert inst[2, 2] == inst[3, 4] != 0
    assert inst[6, 2] not in (0, inst[2, 2])
    use(window, "select")
    click(qtbot, window, 3, 2)  # back to the cell: its class and object become current
    assert ctx_of(window).class_id == 1
    use(window, "brush")
    drag(qtbot, window, [(2, 4), (4, 4)])
    assert labels(window)[1][4, 3] == inst[2, 2]


def test_pan_key_leaves_no_tool_checked(win: MainWindow, qtbot: Any):
    qtbot.keyClick(win.canvas, Qt.Key.Key_F)
    assert checked_tool_key(win.annotation.toolbar) == "fill"
    qtbot.keyClick(win.canvas, Qt.Key.Key_H)
    assert checked_tool_key(win.annotation.toolbar) is None
    assert win.canvas.tool.name == "Pan"
    qtbot.keyClick(win.canvas, Qt.Key.Key_F)
    assert checked_tool_key(win.annotation.toolbar) == "fill"
