"""The Segment Anything tool on a tiny random-init SAM pair: clicks, boxes, candidates,
the encoder off the GUI thread, Enter paints one undoable object."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from annotate_helpers import (
    CLASSES,
    HEIGHT,
    WIDTH,
    at,
    click,
    drag,
    labels,
    make_window,
    open_project,
)
from annotate_helpers import wait_idle as wait_edit
from PySide6.QtCore import Qt

from app.tools.segment_anything import SegmentAnythingTool
from app.window import MainWindow

sys.path.insert(0, str(Path(__file__).parents[1] / "segcore" / "models" / "sam"))
from sam_helpers import tiny_pair  # noqa: E402

CELL = 1


@pytest.fixture
def win(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("TESSERA_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    from segcore.models.sam.store import add_pair

    add_pair("tiny", "vit_b", *tiny_pair("vit_b"))
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    return window


def sam_tool(qtbot: Any, window: MainWindow) -> SegmentAnythingTool:
    window.annotation.toolbar.choose("segment_anything")
    assert window.annotation.ctx.set_class(CELL)
    tool = window.canvas.tool
    assert isinstance(tool, SegmentAnythingTool)
    qtbot.waitUntil(lambda: tool.embedding is not None, timeout=30_000)  # encoded in a worker
    return tool


def test_click_previews_tab_cycles_enter_paints_one_undo_step(win: MainWindow, qtbot: Any):
    tool = sam_tool(qtbot, win)
    w = tool.window
    assert w is not None and (w.level, w.w, w.h) == (0, WIDTH, HEIGHT)  # whole image, x4
    click(qtbot, win, 27, 17)
    pred = tool.prediction
    assert pred is not None and pred.masks.shape == (4, HEIGHT, WIDTH)
    assert tool.prompts.points == ((27.0, 17.0, 1),)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Tab)
    assert tool.choice == 1
    filled = [i for i in range(4) if pred.masks[i].any()]
    assert filled, "a random-init decoder gave four empty masks"
    tool.choice = filled[0]
    want = pred.masks[filled[0]].copy()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    wait_edit(qtbot, win)
    sem, inst = labels(win)
    np.testing.assert_array_equal(sem == CELL, want)
    assert len(np.unique(inst[want])) == 1 and inst[want][0] != 0  # one new object
    assert tool.prediction is None and not tool.prompts.points  # cleared for the next object
    ctx = win.annotation.ctx
    assert ctx.undo() is not None
    assert not (labels(win)[0] == CELL).any()  # the whole mask was one undo step
    assert ctx.redo() is not None and ((labels(win)[0] == CELL) == want).all()


def test_negative_points_box_backspace_escape(win: MainWindow, qtbot: Any):
    tool = sam_tool(qtbot, win)
    click(qtbot, win, 27, 17)
    click(qtbot, win, 5, 5, button=Qt.MouseButton.RightButton)
    click(qtbot, win, 50, 40, modifier=Qt.KeyboardModifier.ShiftModifier)
    assert [p[2] for p in tool.prompts.points] == [1, 0, 0]
    drag(qtbot, win, [(16, 6), (28, 18), (39, 29)])
    assert tool.prompts.box == pytest.approx((16.0, 6.0, 39.0, 29.0))
    assert tool.prediction is not None
    qtbot.keyClick(win.canvas, Qt.Key.Key_Backspace)
    assert len(tool.prompts.points) == 2
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)
    assert tool.prediction is None and not tool.prompts.positions()
    assert not (labels(win)[0] != 255).any()  # nothing was painted


def test_click_to_preview_is_fast_with_the_embedding_ready(win: MainWindow, qtbot: Any):
    tool = sam_tool(qtbot, win)
    times = []
    for i in range(10):
        start = time.perf_counter()
        qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         at(win, 10 + 4 * i, 20))  # fmt: skip
        times.append(time.perf_counter() - start)
        assert tool.prediction is not None and len(tool.prompts.points) == i + 1
    assert not tool._encoder.running  # no click waited on (or started) the encoder
    assert np.median(times) < 0.5  # generous: CI runs on a loaded 2-core machine


def test_without_a_registered_pair_the_tool_says_how_to_add_one(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TESSERA_MODELS_DIR", str(tmp_path / "none"))
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    messages: list[str] = []
    say = window.annotation.ctx
    monkeypatch.setattr(say, "status", lambda text, msecs=0: messages.append(text))
    window.annotation.toolbar.choose("segment_anything")
    qtbot.waitUntil(lambda: any("add-sam" in m for m in messages), timeout=5000)
    click(qtbot, window, 27, 17)
    assert not (labels(window)[0] != 255).any()


def wide_window(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    """A project with one 900 x 200 image (levels 900 and 450 px wide), a tiny pair."""
    import tifffile

    monkeypatch.setenv("TESSERA_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    from segcore.models.sam.store import add_pair

    add_pair("tiny", "vit_b", *tiny_pair("vit_b"))
    window = make_window(qtbot)
    image = tmp_path / "wide.tif"
    tifffile.imwrite(image, np.random.default_rng(0).integers(0, 255, (200, 900, 3), np.uint8))
    projects = window.annotation.projects
    assert projects.new_project(tmp_path / "proj", classes=CLASSES) is not None
    projects.add_images([image])
    qtbot.waitUntil(lambda: window.annotation.ctx.editor is not None, timeout=15_000)
    return window


def test_prompt_near_an_inner_edge_answers_now_then_moves_to_a_recentred_window(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from segcore.prompt.session import Prompts

    window = wide_window(qtbot, tmp_path, monkeypatch)
    tool = sam_tool(qtbot, window)
    here = tool.window
    assert here is not None and here.x + here.w < 900 / here.fx  # an inner right edge
    x0 = (here.x + here.w - 6) * here.fx  # inside, 6 level pixels from that edge
    tool.prompts = Prompts(((x0, 100.0, 1),))
    tool.prompts_changed()
    assert tool.prediction is not None and tool.prediction.window == here  # answered at once
    assert tool._pending is not None
    qtbot.waitUntil(lambda: tool._pending is None, timeout=30_000)
    moved = tool.window
    assert (
        moved is not None
        and moved.x > here.x
        and not moved.near_inner_edge(
            x0,
            100.0,
            tool.session.levels,  # type: ignore[union-attr]
        )
    )
    assert tool.prediction is not None and tool.prediction.window == moved


def test_everything_in_view_proposals_drop_and_paint_in_one_undo_step(win: MainWindow, qtbot: Any):
    from segcore.prompt.everything import Proposal

    tool = sam_tool(qtbot, win)
    messages: list[str] = []
    ctx = win.annotation.ctx
    real_status = ctx.status
    ctx.status = lambda text, msecs=0: (messages.append(text), real_status(text, msecs))  # type: ignore[method-assign]
    qtbot.keyClick(win.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: any("proposals:" in m for m in messages), timeout=60_000)
    w = tool.window
    assert w is not None
    masks = []
    for x in (2, 20, 40):  # three hand-made proposals, 10 x 10 each
        m = np.zeros((w.h, w.w), bool)
        m[5:15, x : x + 10] = True
        masks.append(m)
    tool.proposals.set([Proposal(m, 0.9) for m in masks], w)
    click(qtbot, win, 25, 10, button=Qt.MouseButton.RightButton)  # drops the middle one
    assert len(tool.proposals.items) == 2
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    wait_edit(qtbot, win)
    sem, inst = labels(win)
    assert (sem == CELL).sum() == 200 and not (sem[5:15, 20:30] == CELL).any()
    assert len({int(inst[6, 3]), int(inst[6, 41])} - {0}) == 2  # two separate objects
    assert ctx.undo() is not None and not (labels(win)[0] == CELL).any()


def test_enter_on_a_mask_cut_off_by_the_window_refines_one_level_coarser(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from segcore.prompt.geometry import window_at
    from segcore.prompt.session import Prediction, Prompts

    window = wide_window(qtbot, tmp_path, monkeypatch)
    tool = sam_tool(qtbot, window)
    session = tool.session
    assert session is not None
    fine = window_at(session.levels, 0, 100, 100, session.size)  # x 0..256 of 900: cut off
    emb = session.embed(fine)
    tool.window, tool.embedding = fine, emb
    tool.prompts = Prompts(((100.0, 100.0, 1),))
    pred = session.predict(fine, emb, tool.prompts)
    tool.prediction = Prediction(fine, np.ones_like(pred.masks), pred.scores, pred.low_res)
    tool.choice = 0
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    ctx = window.annotation.ctx
    store = ctx.editor.store  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: (store.read("semantic", 0, 0, 900, 200) == CELL).any(), timeout=30_000)
    wait_edit(qtbot, window)
    sem = store.read("semantic", 0, 0, 900, 200)
    assert (sem[:, :256] == CELL).all()  # the fine window's mask, whole
    assert ctx.undo() is not None and not (store.read("semantic", 0, 0, 900, 200) == CELL).any()


def test_double_click_commits_like_enter(win: MainWindow, qtbot: Any):
    from annotate_helpers import at

    tool = sam_tool(qtbot, win)
    click(qtbot, win, 27, 17)
    assert tool.prediction is not None
    qtbot.mouseDClick(win.canvas, Qt.MouseButton.LeftButton, pos=at(win, 27, 17))
    wait_edit(qtbot, win)
    sem, inst = labels(win)
    painted = sem == CELL
    if painted.any():  # a random-init decoder may give an empty first mask: then nothing
        assert len(np.unique(inst[painted])) == 1 and inst[painted][0] != 0
    assert tool.prediction is None and not tool.prompts.points  # committed and cleared
