"""The Training dock: train on painted strokes with a live chart, stop mid-run, the new
model becomes the current one and predicts the view, uncertain tiles are ranked and
Next / Previous fly there; missing labels or models are answered with a dialog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from annotate_helpers import drag, make_window, open_project, wait_idle

from app.docks.training_dock import TrainingDock
from app.window import MainWindow
from segcore.labels.schema import UNLABELLED
from segcore.models import read_meta

BACKGROUND, CELL = 0, 1
RUN_MS = 120_000  # generous: a loaded 2-core CI machine builds and probes slowly


def paint(qtbot: Any, window: MainWindow, class_id: int, corners: tuple[int, ...]) -> None:
    window.annotation.toolbar.choose("rectangle")
    assert window.annotation.ctx.set_class(class_id)
    x0, y0, x1, y1 = corners
    drag(qtbot, window, [(x0, y0), (x1, y1)])
    wait_idle(qtbot, window)


def labelled_window(qtbot: Any, tmp_path: Path) -> MainWindow:
    """A project with the 64 x 48 two-tone image: strokes inside and outside the square."""
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    paint(qtbot, window, CELL, (22, 12, 33, 23))  # inside the bright square (20..35, 10..25)
    paint(qtbot, window, BACKGROUND, (2, 30, 15, 45))
    paint(qtbot, window, BACKGROUND, (40, 2, 60, 8))
    return window


def tiny_run(dock: TrainingDock, *, epochs: int | None = 2, minutes: int | None = None) -> None:
    """Small tiles and batches so a run takes about a second on a CPU."""
    dock.unit.setCurrentText("minutes" if minutes else "epochs")
    dock.budget.setValue(minutes or epochs or 1)
    dock.tile.setValue(32)
    dock.batch.setValue(2)
    dock.device.setCurrentText("cpu")
    dock.uncertainty.tile.setValue(16)


def view_centre(window: MainWindow) -> tuple[float, float]:
    vp = window.canvas.viewport
    return vp.to_image(vp.view_w / 2, vp.view_h / 2)


def test_train_predict_and_step_through_uncertain_tiles(qtbot: Any, tmp_path: Path):
    window = labelled_window(qtbot, tmp_path)
    dock: TrainingDock = window.training_dock
    assert window.docks["training_dock"] is dock
    window.model_dock.raise_()
    window.actions_by_name["train"].trigger()  # Model > Train... brings the dock forward
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty())
    assert window.model_dock.visibleRegion().isEmpty()  # tabbed behind the Training dock
    tiny_run(dock, epochs=2)
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS) as finished:
        assert dock.start() is not None
        assert dock.is_running and not dock.start_button.isEnabled()
    result = finished.args[0]
    assert result is not None and result.stopped == "completed"
    loss, miou = dock.chart.points()
    # the 64 x 48 image is one 64-pixel block: 4 tiles of 32 an epoch, 2 steps of 2
    assert [x for x, _ in loss] == [0.5, 1.0, 1.5, 2.0]
    assert all(np.isfinite(y) and y > 0 for _, y in loss)
    assert [x for x, _ in miou] == [1.0, 2.0]
    assert [y for _, y in miou] == [r.val_miou for r in result.history]
    # the new model is the current one, saved in the project's models folder
    model = window.session.model
    assert model is not None and model.path == result.path
    assert model.path.parent == window.session.project.models_dir
    assert [h["epoch"] for h in read_meta(model.path).history] == [1, 2]
    # ...and the visible area was predicted with it
    qtbot.waitUntil(
        lambda: window.session.prediction is not None and not window.model_dock.is_running,
        timeout=RUN_MS,
    )
    pred = window.session.prediction.read("semantic", 0, 0, 64, 48)
    assert (pred != UNLABELLED).all()
    assert set(np.unique(pred)) <= {0, 1, 2}
    # where to correct next: 16-pixel tiles of the 64 x 48 image, none fully labelled
    panel = dock.uncertainty
    qtbot.waitUntil(lambda: len(panel.tiles) > 0 and not panel.is_running, timeout=RUN_MS)
    scores = [t.score for t in panel.tiles]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1
    assert len(panel.tiles) <= 12 and panel.list.count() == len(panel.tiles)
    assert all(t.w == 16 and t.h == 16 for t in panel.tiles)
    first, second = panel.tiles[0], panel.tiles[1]
    window.actions_by_name["next_uncertain"].trigger()
    assert view_centre(window) == pytest.approx((first.x + 8, first.y + 8), abs=0.01)
    assert panel.list.currentRow() == 0 and not panel.prev_button.isEnabled()
    panel.next_button.click()
    assert view_centre(window) == pytest.approx((second.x + 8, second.y + 8), abs=0.01)
    panel.prev_button.click()
    assert view_centre(window) == pytest.approx((first.x + 8, first.y + 8), abs=0.01)
    dock.resize(420, 760)
    dock.grab().save("/tmp/training_dock.png")


def test_stop_fine_tune_and_cancel(qtbot: Any, tmp_path: Path, dialogs: list[str]):
    window = labelled_window(qtbot, tmp_path)
    dock: TrainingDock = window.training_dock
    tiny_run(dock, minutes=10)
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS) as finished:
        dock.start()
        qtbot.waitUntil(lambda: len(dock.chart.points()[0]) >= 3, timeout=RUN_MS)
        dock.stop()
    result = finished.args[0]
    assert result is not None and result.stopped == "stopped"
    assert result.seconds < 120  # far from the 10-minute budget
    assert window.session.model is not None and window.session.model.path == result.path
    assert result.path.is_file() and not dock.is_running and dock.start_button.isEnabled()
    assert dialogs == []
    # fine-tune the model just made: offered now; its history gains a second run
    dock.predict_after.setChecked(False)
    dock.finetune_radio.setChecked(True)
    assert not dock.arch.isEnabled()
    tiny_run(dock, epochs=1)
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS) as finished:
        dock.start()
    tuned = finished.args[0]
    assert tuned is not None and tuned.path != result.path
    assert window.session.model.path == tuned.path
    runs = [h["run"] for h in read_meta(tuned.path).history]
    assert runs[-1] == 2 and 1 in runs
    # closing the job mid-run (window closing) stops at once: no result, model unchanged
    qtbot.waitUntil(lambda: not dock.uncertainty.is_running, timeout=RUN_MS)
    tiny_run(dock, minutes=10)
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS) as finished:
        dock.start()
        qtbot.waitUntil(lambda: len(dock.chart.points()[0]) >= 1, timeout=RUN_MS)
        dock.shutdown()
    assert finished.args == [None]
    assert dock.status.text() == "Cancelled" and window.session.model.path == tuned.path


def test_trains_on_the_open_images_labels_without_a_project(qtbot: Any, tmp_path: Path):
    from annotate_helpers import CLASSES, scene_image

    from app.session import document_for
    from segcore.io.array import ArraySource
    from segcore.labels.adapters import ArrayLabels

    window = make_window(qtbot)
    labels = np.full((48, 64), UNLABELLED, np.uint8)
    labels[12:24, 22:34] = CELL
    labels[30:46, 2:16] = BACKGROUND
    doc = document_for(ArraySource(scene_image(), name="cells"), labels=ArrayLabels(labels),
                       classes=tuple(CLASSES))  # fmt: skip
    window.open_document(doc)
    dock: TrainingDock = window.training_dock
    dock.models_dir = tmp_path / "models"
    dock.predict_after.setChecked(False)
    tiny_run(dock, epochs=1)
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS) as finished:
        dock.start()
    result = finished.args[0]
    assert result is not None and result.path.parent == tmp_path / "models"
    assert [c.name for c in result.meta.classes] == ["background", "cell", "debris"]
    assert window.session.model.path == result.path
    qtbot.waitUntil(lambda: len(dock.uncertainty.tiles) > 0, timeout=RUN_MS)


def test_no_labels_or_no_model_is_a_dialog(qtbot: Any, tmp_path: Path, dialogs: list[str]):
    window = make_window(qtbot)
    dock: TrainingDock = window.training_dock
    assert dock.start() is None
    assert "nothing to train on" in dialogs[-1]
    open_project(qtbot, window, tmp_path)
    assert dock.start() is None and not dock.is_running
    assert "no image of the project" in dialogs[-1] and "has labels yet" in dialogs[-1]
    assert not dock.finetune_radio.isEnabled()  # nothing to fine-tune
    assert dock.uncertainty.rank() is None
    assert "open a model" in dialogs[-1]
    dock.budget.setValue(1)
    dock.tile.setValue(20)  # not a multiple of the small U-Net's stride 8
    paint(qtbot, window, CELL, (22, 12, 33, 23))
    paint(qtbot, window, BACKGROUND, (2, 30, 15, 45))
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS):
        dock.start()
    assert "tile 20 is not a multiple" in dialogs[-1]
    assert dock.status.text() == "Failed" and window.session.model is None
