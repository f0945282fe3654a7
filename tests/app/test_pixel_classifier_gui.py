"""The pixel classifier in the app: trained from the Training dock into an .onnx model the
Model dock runs, and live mode, which retrains after each stroke and repaints the view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from annotate_helpers import drag, make_window, open_project, wait_idle

from app.docks.training_dock import PIXEL_ARCH, TrainingDock
from app.window import MainWindow
from segcore.labels.schema import UNLABELLED
from segcore.models import read_meta

BACKGROUND, CELL, DEBRIS = 0, 1, 2
RUN_MS = 120_000


def paint(qtbot: Any, window: MainWindow, class_id: int, corners: tuple[int, ...]) -> None:
    window.annotation.toolbar.choose("rectangle")
    assert window.annotation.ctx.set_class(class_id)
    x0, y0, x1, y1 = corners
    drag(qtbot, window, [(x0, y0), (x1, y1)])
    wait_idle(qtbot, window)


def labelled(qtbot: Any, tmp_path: Path) -> MainWindow:
    """The 64 x 48 image (bright square at 20..35, 10..25): strokes in and out of it."""
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    paint(qtbot, window, CELL, (22, 12, 33, 23))
    paint(qtbot, window, BACKGROUND, (2, 30, 15, 45))
    paint(qtbot, window, BACKGROUND, (40, 2, 60, 8))
    return window


def choose_pixel(dock: TrainingDock) -> None:
    dock.arch.setCurrentIndex(dock.arch.findData(PIXEL_ARCH))
    assert dock.pixel_chosen and dock.pixel.live_box.isEnabled()
    assert not dock.tile.isEnabled() and not dock.encoder.isEnabled()


def prediction(window: MainWindow) -> np.ndarray:
    pred = window.session.prediction
    assert pred is not None
    return pred.read("semantic", 0, 0, 64, 48)


def test_trained_in_the_dock_and_run_by_the_model_dock(qtbot: Any, tmp_path: Path) -> None:
    window = labelled(qtbot, tmp_path)
    dock: TrainingDock = window.training_dock
    choose_pixel(dock)
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS) as finished:
        assert dock.start() is not None
    result = finished.args[0]
    assert result is not None and result.path.suffix == ".onnx"
    assert result.path.parent == window.session.project.models_dir
    assert result.path.with_suffix(".json").is_file()
    model = window.session.model
    assert model is not None and model.path == result.path
    assert read_meta(model.path).arch == PIXEL_ARCH
    # "Predict after": the Model dock ran the .onnx model on the view
    qtbot.waitUntil(
        lambda: window.session.prediction is not None and not window.model_dock.is_running,
        timeout=RUN_MS,
    )
    pred = prediction(window)
    assert (pred != UNLABELLED).all()
    assert (pred[12:24, 22:34] == CELL).all() and (pred[30:46, 0:16] == BACKGROUND).all()
    # where to correct next: ranked by the .onnx model's entropy, through the engine
    panel = dock.uncertainty
    qtbot.waitUntil(lambda: len(panel.tiles) > 0 and not panel.is_running, timeout=RUN_MS)
    assert all(0 <= t.score <= 1 for t in panel.tiles)
    # the Model dock runs it again on the whole image, with confidence
    with qtbot.waitSignal(window.model_dock.run_finished, timeout=RUN_MS) as ran:
        window.model_dock.run("image")
    assert ran.args[0] is True
    assert window.session.prediction is not None


def test_live_mode_retrains_after_each_stroke(qtbot: Any, tmp_path: Path) -> None:
    window = labelled(qtbot, tmp_path)
    dock: TrainingDock = window.training_dock
    choose_pixel(dock)
    live = dock.pixel.live
    dock.pixel.live_box.setChecked(True)
    assert live.active
    qtbot.waitUntil(lambda: not live.busy and live.live.version == 1, timeout=RUN_MS)
    qtbot.waitUntil(lambda: (prediction(window) != UNLABELLED).all(), timeout=RUN_MS)
    pred = prediction(window)
    assert (pred[12:24, 22:34] == CELL).all() and (pred[30:46, 0:16] == BACKGROUND).all()
    assert "Live: retrained" in dock.pixel.status.text()
    # a stroke of a third class on the dark area: retrained, and the view shows it
    paint(qtbot, window, DEBRIS, (44, 30, 60, 45))
    qtbot.waitUntil(lambda: not live.busy and live.live.version == 2, timeout=RUN_MS)
    qtbot.waitUntil(
        lambda: (prediction(window)[32:44, 46:58] == DEBRIS).mean() > 0.5, timeout=RUN_MS
    )
    # undo is a change too
    window.annotation.ctx.undo()
    qtbot.waitUntil(lambda: not live.busy and live.live.version == 3, timeout=RUN_MS)
    assert DEBRIS not in live.live.classifier.forest.classes_
    # off: the worker and the prediction threads end, the last prediction stays
    dock.pixel.live_box.setChecked(False)
    assert not live.active and live.live is None
    assert window.session.prediction is not None
    # back to a network: its choices return, to train it from the same labels
    dock.arch.setCurrentIndex(dock.arch.findData("small_unet"))
    assert not dock.pixel_chosen and not dock.pixel.live_box.isEnabled()
    assert dock.tile.isEnabled() and dock.budget.isEnabled() and dock.chart.isVisibleTo(dock)
