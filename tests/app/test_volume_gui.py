"""Labelling a volume in the window: tools paint the slice on screen, slice actions, dock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from annotate_helpers import (
    CLASSES,
    HEIGHT,
    LEFT,
    WIDTH,
    drag,
    make_window,
    wait_editor,
    wait_idle,
)

from app.window import MainWindow
from segcore.labels.schema import UNLABELLED

DEPTH = 6
CELL = 1


def open_volume(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    data = np.zeros((WIDTH, HEIGHT, DEPTH), np.int16)  # voxel (col, row-from-bottom, slice)
    data[20:36, 10:26, :] = 300
    path = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([0.8, 0.8, 2.5, 1.0])), path)
    projects = window.annotation.projects
    assert projects.new_project(tmp_path / "proj", classes=CLASSES) is not None
    projects.add_images([path])
    wait_editor(qtbot, window)


def planes(window: MainWindow) -> np.ndarray:
    editor = window.annotation.ctx.editor
    assert editor is not None
    store = editor.store
    return np.stack([store.plane(z).read("semantic", 0, 0, WIDTH, HEIGHT) for z in range(DEPTH)])


def go(window: MainWindow, z: int) -> None:
    window.slice_slider.setValue(z)
    assert window.canvas.z == z and window.annotation.ctx.editor.plane == z  # type: ignore[union-attr]


def test_tools_paint_the_slice_on_screen_and_slice_actions_fill_others(
    qtbot: Any, tmp_path: Path
) -> None:
    window = make_window(qtbot)
    open_volume(qtbot, window, tmp_path)
    ctx = window.annotation.ctx
    assert ctx.editor is not None and ctx.editor.store.depth == DEPTH
    window.annotation.toolbar.choose("rectangle")
    assert ctx.set_class(CELL)
    go(window, 1)
    drag(qtbot, window, [(10, 10), (20, 20)])
    wait_idle(qtbot, window)
    maps = planes(window)
    assert (maps[1] == CELL).sum() > 50
    assert (np.delete(maps, 1, axis=0) == UNLABELLED).all()  # no other slice changed
    go(window, 2)
    window.slice_actions["copy_prev_slice"].trigger()
    wait_idle(qtbot, window)
    np.testing.assert_array_equal(planes(window)[2], maps[1])
    go(window, 4)
    drag(qtbot, window, [(14, 14), (30, 30)])
    wait_idle(qtbot, window)
    go(window, 3)
    window.slice_actions["interpolate_slices"].trigger()
    wait_idle(qtbot, window)
    maps = planes(window)
    union = (maps[2] == CELL) | (maps[4] == CELL)  # distance-map blends stay inside it
    assert (maps[3] == CELL).any() and not ((maps[3] == CELL) & ~union).any()
    # undo from another slice: the interpolated slice is restored, the status says where
    go(window, 0)
    window.annotation.actions["undo"].trigger()
    assert (planes(window)[3] == UNLABELLED).all()
    assert "slice 4" in window.status.currentMessage()
    # the Project dock counts labelled slices
    dock = window.annotation.dock
    item = dock.list.topLevelItem(0)
    dock.update_current()
    assert item is not None and item.toolTip(1) == f"3 of {DEPTH} slices labelled"


def test_3d_fill_reaches_every_connected_slice(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    open_volume(qtbot, window, tmp_path)
    ctx = window.annotation.ctx
    window.annotation.toolbar.choose("rectangle")
    assert ctx.set_class(0)
    for z in range(DEPTH):
        go(window, z)
        drag(qtbot, window, [(5, 5), (40, 40)])
        wait_idle(qtbot, window)
    go(window, 2)
    window.annotation.toolbar.choose("fill3d")
    assert ctx.set_class(CELL)
    from annotate_helpers import click

    click(qtbot, window, 10, 10)
    wait_idle(qtbot, window)
    maps = planes(window)
    assert (maps[:, 5:41, 5:41] == CELL).all()
    assert len(ctx.editor.history) == DEPTH + 1  # type: ignore[union-attr]


def test_export_and_import_a_nifti_label_volume_through_the_dialogs(
    qtbot: Any, tmp_path: Path
) -> None:
    window = make_window(qtbot)
    open_volume(qtbot, window, tmp_path)
    ctx = window.annotation.ctx
    assert ctx.editor is not None
    with ctx.lock:
        ctx.editor.store.plane(4).write("semantic", 3, 5, np.full((6, 7), CELL, np.uint8))
    window.annotation.projects.save()
    dialog = window.io.show_export()
    dialog.choose("nifti", tmp_path / "out")
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: not dialog.running, timeout=15_000)
    written = tmp_path / "out" / "ct.nii.gz"
    data = np.asarray(nib.load(written).dataobj)  # type: ignore[attr-defined]
    assert data.shape == (WIDTH, HEIGHT, DEPTH) and int((data == CELL + 1).sum()) == 42
    # wipe slice 4 on screen, then import the file back over it
    with ctx.lock:
        ctx.editor.store.plane(4).write("semantic", 3, 5, np.full((6, 7), UNLABELLED, np.uint8))
    window.actions_by_name["import_labels"].trigger()
    importer = window.io.import_dialog
    assert importer is not None
    importer.choose("nifti", written)
    assert importer.start() is not None
    qtbot.waitUntil(lambda: not importer.running, timeout=15_000)
    assert "42 labelled voxels" in importer.message.text()
    qtbot.waitUntil(lambda: ctx.editor is not None, timeout=5_000)
    assert (planes(window)[4, 5:11, 3:10] == CELL).all()


def test_navigator_side_view_shows_every_slice_through_the_view_centre(
    qtbot: Any, tmp_path: Path
) -> None:
    window = make_window(qtbot)
    open_volume(qtbot, window, tmp_path)
    ctx = window.annotation.ctx
    assert ctx.editor is not None
    x, y, w, h = window.canvas.visible_box()
    cx, cy = x + w // 2, y + h // 2
    with ctx.lock:
        ctx.editor.store.plane(4).write("semantic", cx - 1, cy - 2, np.full((4, 3), CELL, np.uint8))
    window.navigator_dock.show()
    side = window.navigator_dock.side
    side.refresh()
    assert side.isVisible() and side.image is not None
    assert (side.image.width(), side.image.height()) == (HEIGHT, DEPTH)  # sagittal: rows x slices
    alpha = [side.image.pixelColor(cy, DEPTH - 1 - z).alpha() for z in range(DEPTH)]
    assert [a > 0 for a in alpha] == [z == 4 for z in range(DEPTH)]
    qtbot.mouseClick(side, LEFT)  # coronal
    assert side.axis == "coronal" and side.image.width() == WIDTH
    assert side.image.pixelColor(cx, DEPTH - 1 - 4).alpha() > 0


def test_a_volume_open_on_screen_becomes_a_label_volume_of_a_new_project(
    qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    window = make_window(qtbot)
    data = np.zeros((WIDTH, HEIGHT, DEPTH), np.int16)
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "mr.nii.gz")
    with qtbot.waitSignal(window.session.document_changed, timeout=15_000):
        window.open_path(tmp_path / "mr.nii.gz")
    folder = tmp_path / "proj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(folder), ""))
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("a\nb", True))
    window.annotation.actions["new_project"].trigger()
    wait_editor(qtbot, window)
    editor = window.annotation.ctx.editor
    assert editor is not None and editor.store.depth == DEPTH
    assert editor.plane == window.canvas.z == DEPTH // 2  # the slider opens mid-volume


def test_a_volume_opens_with_the_stretch_and_thumbnail_of_its_middle_slice(
    tmp_path: Path,
) -> None:
    from app.session import load_document

    data = np.zeros((40, 30, 9), np.float32)
    data[:, :, 0] = 0.01  # the first slice: nearly nothing (air)
    data[:, :, 4] = np.linspace(0, 1000, 40 * 30, dtype=np.float32).reshape(40, 30)
    path = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    doc = load_document(path)
    try:
        assert doc.display.high[0] > 500  # stretched to the middle slice, not slice 0
        assert float(doc.thumbnail.max()) > 500
    finally:
        doc.source.close()
