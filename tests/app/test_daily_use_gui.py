"""Defects that stopped daily use (issue 19, items 4-7), each as the user met it.

A failed Open Project keeps the project; the Uncertainty layer leaves nodata
transparent and the status bar reads "nodata"; painting an image outside the
project offers to add it; nothing stale or jumpy is left on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from annotate_helpers import (
    CLASSES,
    click,
    drag,
    fix_view,
    labels,
    make_window,
    open_project,
    wait_editor,
    wait_idle,
    write_image,
)
from app_helpers import settle
from PySide6.QtWidgets import QApplication, QFileDialog, QToolButton
from test_app_model_dock import tiny_model

import app.project.commands as project_commands
from app import errors
from app.session import document_for
from app.window import MainWindow
from segcore.io.array import ArraySource
from segcore.labels.schema import UNLABELLED


def _wait_document(qtbot: Any, window: MainWindow, path: Path) -> None:
    def shown() -> bool:
        doc = window.session.document
        return doc is not None and doc.path == path

    qtbot.waitUntil(shown, timeout=15_000)


# -- 4: a failed Open Project ---------------------------------------------------------


def test_failed_open_project_keeps_the_current_project(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    projects = window.annotation.projects
    before, doc = projects.project, window.session.document
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "project.json").write_text("{ not json")
    assert projects.open_project(bad) is None
    assert errors.reporter.history, "a dialog says why"
    assert projects.project is before and window.session.document is doc
    assert window.annotation.ctx.editor is not None  # still labelling


# -- 5: nodata ------------------------------------------------------------------------


def test_uncertainty_leaves_nodata_transparent(qtbot: Any) -> None:
    window = make_window(qtbot)
    window.open_document(document_for(ArraySource(np.zeros((32, 32, 3), np.uint8), name="a")))
    session = window.session
    session.new_prediction(tuple(CLASSES))
    classes = np.zeros((32, 32), np.uint8)
    classes[:, 16:] = UNLABELLED  # what the engine writes on nodata
    score = np.full((32, 32), 230, np.uint8)
    score[:, 16:] = 0
    session.add_prediction(0, 0, classes, score)
    assert session.prediction is not None
    conf = session.prediction.read("confidence", 0, 0, 32, 32)
    assert (conf[:, 16:] == 0).all(), "nodata must not read as confidence 0 (bright)"
    layer = window.canvas.layer("confidence")
    assert layer is not None and layer.describe(conf[0, 20]) == "no prediction"


def test_status_bar_reads_nodata(qtbot: Any, tmp_path: Path) -> None:
    import rasterio

    path = tmp_path / "scene.tif"
    pixels = np.full((1, 40, 40), 120.0, np.float32)
    pixels[:, :, :20] = -9999.0
    profile = {"driver": "GTiff", "width": 40, "height": 40, "count": 1, "dtype": "float32"}
    with rasterio.open(path, "w", nodata=-9999.0, **profile) as dst:
        dst.write(pixels)
    window = make_window(qtbot)
    window.open_path(path)
    _wait_document(qtbot, window, path)
    settle(qtbot, window.canvas)
    window.status.show_at((5.5, 5.5))
    assert window.status.values.text() == "nodata"
    window.status.show_at((30.5, 5.5))
    assert window.status.values.text() == "120"


# -- 6: an image outside the project --------------------------------------------------


def test_painting_an_image_outside_the_project_offers_to_add_it(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    other = write_image(tmp_path / "other.tif")
    window.open_path(other)
    _wait_document(qtbot, window, other)
    bar, ctx = window.annotation.toolbar, window.annotation.ctx
    assert ctx.editor is None
    assert bar.class_box.count() == 0, "no class to offer: the image is not in the project"
    assert bar.actions_by_key["brush"].isEnabled(), "a tool says why instead of greying out"
    asked: list[str] = []

    def ask(parent: Any, name: str, project: str) -> bool:
        asked.append(f"{name} -> {project}")
        return True

    monkeypatch.setattr(project_commands, "ask_add_image", ask)
    bar.choose("brush")
    fix_view(window)
    drag(qtbot, window, [(5, 5), (12, 5)])
    assert asked == ["other.tif -> proj"]
    wait_editor(qtbot, window)
    projects = window.annotation.projects
    assert projects.project is not None
    assert "other.tif" in [e.path.name for e in projects.project.images]
    ctx.set_class(2)
    drag(qtbot, window, [(5, 5), (12, 5)])
    assert labels(window)[0][5, 8] == 2  # the stroke now paints


def test_the_offer_names_the_button(qtbot: Any, tmp_path: Path, dialogs: list[str]) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    other = write_image(tmp_path / "other.tif")
    window.open_path(other)
    _wait_document(qtbot, window, other)
    window.annotation.toolbar.choose("fill")
    fix_view(window)
    click(qtbot, window, 5, 5)
    assert any("Add this image to the project" in text for text in dialogs)
    assert window.annotation.projects.project is not None
    assert len(window.annotation.projects.project.images) == 1  # declined: nothing added


# -- 7: stale or jumpy state ----------------------------------------------------------


@pytest.fixture(scope="module")
def model3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("m") / "tiny.safetensors", bands=3, classes=3)


def _random_image(window: MainWindow, size: int, seed: int = 0) -> None:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    window.open_document(document_for(ArraySource(pixels, name=f"random{seed}")))


def test_done_message_is_cleared_when_another_image_opens(qtbot: Any, model3: Path) -> None:
    window = make_window(qtbot)
    _random_image(window, 96)
    dock = window.model_dock
    dock.open_model(model3)
    with qtbot.waitSignal(dock.run_finished, timeout=60_000):
        dock.run("image")
    assert dock.eta.text().startswith("Done in")
    _random_image(window, 64, seed=1)
    assert dock.eta.text() == "" and dock.progress.value() <= 0


def test_progress_after_a_cancel_keeps_the_tiles_drawn(qtbot: Any, model3: Path) -> None:
    window = make_window(qtbot)
    _random_image(window, 1024)
    dock = window.model_dock
    dock.open_model(model3)
    dock.tile.setValue(64)

    def first_tile(box: object) -> None:
        if box is not None:
            dock.cancel()

    window.session.prediction_changed.connect(first_tile)
    with qtbot.waitSignal(dock.run_finished, timeout=60_000) as finished:
        dock.run("image")
    assert finished.args == [False]
    assert dock.progress.value() > 0, "tiles were drawn: the bar must not say 0 %"
    assert dock.eta.text().startswith("Cancelled") and "tiles" in dock.eta.text()


def test_status_bar_updates_after_a_fill_without_moving(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    settle(qtbot, window.canvas)
    window.status.show_at((25.5, 15.5))  # the mouse rests over the bright square
    assert "unlabelled" in window.status.labels.text()
    window.annotation.ctx.run("fill", _fill_all, after=None)  # what a fill of it all does
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: "debris" in window.status.labels.text(), timeout=5_000)


def _fill_all(store: Any) -> Any:
    from segcore.labels.box import Box
    from segcore.labels.edits.common import Paint
    from segcore.labels.edits.paint import paint_rectangle

    return paint_rectangle(store, Box(0, 0, store.width, store.height), paint=Paint(2))


def test_training_chart_is_cleared_when_the_project_changes(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    dock = window.training_dock
    dock.chart.add_loss(0.5, 1.2)
    dock.chart.add_miou(1.0, 0.4)
    dock.summary.setText("IoU background 0.9")
    window.annotation.projects.close_project()
    loss, miou = dock.chart.points()
    assert loss == [] and miou == [] and dock.summary.text() == ""


def test_view_metrics_raises_its_tab(qtbot: Any) -> None:
    window = make_window(qtbot)
    window.annotation.projects.image_opened  # noqa: B018 (the window is fully built)
    toggle = window.actions_by_name["metrics_dock"]
    dock = window.io.metrics_dock
    assert not dock.isVisible()
    toggle.trigger()
    QApplication.processEvents()
    assert dock.isVisible() and not dock.visibleRegion().isEmpty(), "shown, and on top"


def test_training_dock_keeps_its_width_when_the_result_appears(qtbot: Any, tmp_path: Path) -> None:
    from test_training_dock import RUN_MS, labelled_window, tiny_run

    window = labelled_window(qtbot, tmp_path)
    dock = window.training_dock
    window.actions_by_name["train"].trigger()
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty())
    tiny_run(dock, epochs=1)
    dock.predict_after.setChecked(False)
    QApplication.processEvents()
    width, canvas_width = dock.width(), window.canvas.width()
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_MS):
        dock.start()
    QApplication.processEvents()
    assert dock.summary.text() and dock.status.text()
    assert dock.width() == width and window.canvas.width() == canvas_width


def test_default_window_shows_the_whole_tool_bar(qtbot: Any) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)  # the default size (the offscreen screen is smaller)
    window.show()
    qtbot.waitExposed(window)
    QApplication.processEvents()
    assert window.height() <= 900, "the docks' minimum made the window taller than asked"
    bar = window.annotation.toolbar
    extension = [
        b for b in bar.findChildren(QToolButton) if b.objectName() == "qt_toolbar_ext_button"
    ]
    assert not any(b.isVisible() for b in extension), "the tool bar overflows into a >> menu"
    assert bar.tolerance_box.isVisible()


def test_layers_list_shows_its_last_row_on_a_laptop_screen(qtbot: Any, tmp_path: Path) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(760, 700)
    window.show()
    qtbot.waitExposed(window)
    open_project(qtbot, window, tmp_path)
    window.session.new_prediction(tuple(CLASSES))  # image, 3 label layers, prediction, uncertainty
    QApplication.processEvents()
    assert window.height() <= 700, "the window grew past the screen: its docks' bottoms are cut"
    rows = window.layers_dock.list
    last = rows.visualItemRect(rows.item(rows.count() - 1))
    assert rows.count() == 6 and last.bottom() <= rows.viewport().height()


def test_open_project_starts_in_the_last_folder_and_lists_recent_projects(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot)
    root = open_project(qtbot, window, tmp_path)
    projects = window.annotation.projects
    projects.close_project()
    starts: list[str] = []

    def pick(parent: Any, title: str, folder: str, *a: Any) -> tuple[str, str]:
        starts.append(folder)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(pick))
    projects.open_project()
    assert starts == [str(tmp_path)]
    menu = window.annotation.actions["recent_projects"].menu()
    entries = [a for a in menu.actions() if a.data()]
    assert [a.data() for a in entries] == [str(root)]
    entries[0].trigger()
    wait_editor(qtbot, window)
    assert projects.project is not None and projects.project.root == root


def test_the_sample_opens_with_its_prediction(qtbot: Any) -> None:
    from app.session import SAMPLE_IMAGE, SAMPLE_MODEL

    if not (SAMPLE_IMAGE.is_file() and SAMPLE_MODEL.is_file()):
        pytest.skip("the sample is not bundled in this checkout")
    window = make_window(qtbot)
    with qtbot.waitSignal(window.model_dock.run_finished, timeout=120_000) as finished:
        window.open_sample()
    assert finished.args == [True]
    prediction = window.session.prediction
    assert prediction is not None
    w, h = window.session.document.size  # type: ignore[union-attr]
    assert (prediction.read("semantic", 0, 0, w, h) != UNLABELLED).mean() > 0.9
