"""Helpers of the annotation GUI tests: a project with one small image, pixel positions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, Qt

from app.window import MainWindow
from segcore.labels.schema import ClassInfo, make_classes

WIDTH, HEIGHT = 64, 48
ZOOM = 4.0
CLASSES: list[ClassInfo] = make_classes(["background", "cell", "debris"], {"cell"})
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier


def scene_image() -> np.ndarray:
    """Dark RGB image (20) with a bright square (200) at cols 20..35, rows 10..25."""
    image = np.full((HEIGHT, WIDTH, 3), 20, np.uint8)
    image[10:26, 20:36] = 200
    return image


def write_image(path: Path) -> Path:
    import tifffile

    tifffile.imwrite(path, scene_image())
    return path


def make_window(qtbot: Any) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1100, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts need the active window
    return window


def open_project(
    qtbot: Any, window: MainWindow, tmp_path: Path, classes: list[ClassInfo] = CLASSES
) -> Path:
    """New project in tmp_path/proj with one image; waits until it is editable."""
    image = write_image(tmp_path / "cells.tif")
    projects = window.annotation.projects
    assert projects.new_project(tmp_path / "proj", classes=classes) is not None
    projects.add_images([image])
    wait_editor(qtbot, window)
    return tmp_path / "proj"


def wait_editor(qtbot: Any, window: MainWindow) -> None:
    ctx = window.annotation.ctx
    qtbot.waitUntil(lambda: ctx.editor is not None and bool(window.canvas.layers), timeout=15_000)
    fix_view(window)


def fix_view(window: MainWindow) -> None:
    """Zoom 4, image corner at the widget corner: pixel centres land on whole screen pixels."""
    vp = window.canvas.viewport
    vp.zoom, vp.ox, vp.oy = ZOOM, 0.0, 0.0
    window.canvas.update()


def at(window: MainWindow, col: float, row: float) -> QPoint:
    """Widget position of the centre of pixel (col, row)."""
    sx, sy = window.canvas.viewport.to_screen(col + 0.5, row + 0.5)
    return QPoint(round(sx), round(sy))


def click(qtbot: Any, window: MainWindow, col: float, row: float, **kw: Any) -> None:
    button = kw.get("button", LEFT)
    qtbot.mouseClick(window.canvas, button, kw.get("modifier", NONE), at(window, col, row))


def drag(qtbot: Any, window: MainWindow, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through the others, release at the last."""
    canvas = window.canvas
    qtbot.mousePress(canvas, LEFT, NONE, at(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(canvas, at(window, *p))
    qtbot.mouseRelease(canvas, LEFT, NONE, at(window, *points[-1]))


def labels(window: MainWindow) -> tuple[np.ndarray, np.ndarray]:
    """(semantic, instance) maps of the image being edited."""
    editor = window.annotation.ctx.editor
    assert editor is not None
    store = editor.store
    return store.read("semantic", 0, 0, WIDTH, HEIGHT), store.read("instance", 0, 0, WIDTH, HEIGHT)


def wait_idle(qtbot: Any, window: MainWindow) -> None:
    ctx = window.annotation.ctx
    qtbot.waitUntil(lambda: not ctx.busy, timeout=15_000)
