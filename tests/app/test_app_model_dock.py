"""The Model dock with the real engine: run, stream results, cancel, errors, closing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import settle
from PySide6.QtCore import QPoint, Qt

from app.canvas.tools import RectTool
from app.session import document_for
from app.window import MainWindow
from segcore.io.array import ArraySource
from segcore.labels.schema import UNLABELLED, make_classes


def tiny_model(path: Path, *, bands: int, classes: int) -> Path:
    """A random-init two-level U-Net (fast on CPU); the probe is skipped, its numbers are known."""
    from segcore.models import build_model, save_model
    from segcore.models.meta import ModelMeta, Normalization

    config = {"channels": [4, 8]}
    module = build_model("small_unet", num_classes=classes, in_channels=bands, config=config)
    names = [f"class {i}" for i in range(classes)]
    meta = ModelMeta(
        "small_unet", config, bands, tuple(make_classes(names)),
        Normalization((0.0,) * bands, (1.0,) * bands), tile_size=64, output_stride=2,
        receptive_field=8, exact=True,
    )  # fmt: skip
    return save_model(path, module, meta)


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("models") / "tiny3.safetensors", bands=3, classes=3)


@pytest.fixture
def window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    return win


def open_image(window: MainWindow, size: int, bands: int = 3) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (size, size, bands), dtype=np.uint8)
    window.open_document(document_for(ArraySource(pixels, name="random")))


def test_model_dock_shows_the_model(qtbot, window: MainWindow, rgb_model: Path) -> None:  # type: ignore[no-untyped-def]
    dock = window.model_dock
    assert not dock.run_button.isEnabled()
    assert dock.open_model(rgb_model)
    assert window.session.model.meta.in_channels == 3  # type: ignore[union-attr]
    assert dock.classes.count() == 3 and dock.tile.value() == 64
    assert "3 bands" in dock.info.text()
    assert dock.run_button.isEnabled()


def test_run_on_visible_area_streams_tiles_onto_the_canvas(
    qtbot, window: MainWindow, rgb_model: Path
) -> None:  # type: ignore[no-untyped-def]
    open_image(window, 200)
    dock = window.model_dock
    dock.open_model(rgb_model)
    changed: list[object] = []
    window.session.prediction_changed.connect(changed.append)
    with qtbot.waitSignal(dock.run_finished, timeout=60_000) as finished:
        dock.run("view")
    assert finished.args == [True]
    assert changed[0] is None and len(changed) > 2  # a new layer, then tile after tile
    pred = window.session.prediction
    classes = pred.read("semantic", 0, 0, 200, 200)  # type: ignore[union-attr]
    assert classes.max() < 3 and (classes != UNLABELLED).all()
    assert (pred.read("confidence", 0, 0, 200, 200) > 0).all()  # type: ignore[union-attr]
    layer = window.canvas.layer("prediction")
    assert layer is not None and layer.visible
    assert window.canvas.layer("confidence") is not None
    assert dock.eta.text().startswith("Done in")
    layer.opacity = 1.0
    settle(qtbot, window.canvas)
    shot = window.canvas.grab().toImage()
    x, y = (int(v) for v in window.canvas.viewport.to_screen(100.5, 100.5))
    colour = shot.pixelColor(x, y)
    cls = int(classes[100, 100])
    assert (colour.red(), colour.green(), colour.blue()) == layer.classes[cls].color


def test_run_on_a_drawn_rectangle(qtbot, window: MainWindow, rgb_model: Path) -> None:  # type: ignore[no-untyped-def]
    open_image(window, 200)
    dock = window.model_dock
    dock.open_model(rgb_model)
    dock.run("rect")
    canvas = window.canvas
    assert isinstance(canvas.tool, RectTool)
    a = QPoint(*(int(v) for v in canvas.viewport.to_screen(20, 30)))
    b = QPoint(*(int(v) for v in canvas.viewport.to_screen(90, 80)))
    with qtbot.waitSignal(dock.run_finished, timeout=60_000):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(canvas, b)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    assert not isinstance(canvas.tool, RectTool)
    sem = window.session.prediction.read("semantic", 0, 0, 200, 200)  # type: ignore[union-attr]
    done = np.argwhere(sem != UNLABELLED)
    y0, x0 = done.min(axis=0)
    y1, x1 = done.max(axis=0)
    assert abs(x0 - 20) <= 1 and abs(y0 - 30) <= 1 and abs(x1 - 89) <= 1 and abs(y1 - 79) <= 1


def test_cancel_mid_run(qtbot, window: MainWindow, rgb_model: Path) -> None:  # type: ignore[no-untyped-def]
    open_image(window, 1024)
    dock = window.model_dock
    dock.open_model(rgb_model)
    dock.tile.setValue(64)
    dock.batch.setValue(1)
    dock.run("image")
    qtbot.waitUntil(
        lambda: dock.progress.maximum() > 0 and dock.progress.value() >= 2, timeout=60_000
    )
    with qtbot.waitSignal(dock.run_finished, timeout=30_000) as finished:
        dock.cancel()
    assert finished.args == [False]
    assert dock.eta.text().startswith("Cancelled")
    assert dock.run_button.isEnabled() and not dock.cancel_button.isEnabled()
    sem = window.session.prediction.read("semantic", 0, 0, 1024, 1024)  # type: ignore[union-attr]
    assert 0 < (sem != UNLABELLED).mean() < 1  # some tiles arrived, not all


def test_band_mismatch_is_a_dialog(
    qtbot, window: MainWindow, rgb_model: Path, dialogs: list[str]
) -> None:  # type: ignore[no-untyped-def]
    open_image(window, 64, bands=1)
    window.model_dock.open_model(rgb_model)
    window.model_dock.run("view")
    assert len(dialogs) == 1
    assert "expects 3 input band(s)" in dialogs[0] and "has 1" in dialogs[0]
    assert window.session.prediction is None


def test_bad_model_file_is_a_dialog(
    qtbot, window: MainWindow, tmp_path: Path, dialogs: list[str]
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 100)
    assert not window.model_dock.open_model(bad)
    assert len(dialogs) == 1 and dialogs[0].startswith("Could not open model broken.safetensors")
    window.model_dock.run("view")  # no image, no model: a dialog, nothing else
    assert len(dialogs) == 2 and "open an image first" in dialogs[1]


def test_closing_the_window_during_a_run_cancels_it(qtbot, rgb_model: Path) -> None:  # type: ignore[no-untyped-def]
    win = MainWindow()
    win.show()
    open_image(win, 1024)
    win.model_dock.open_model(rgb_model)
    win.model_dock.tile.setValue(64)
    win.model_dock.run("image")
    qtbot.waitUntil(lambda: win.model_dock.progress.value() >= 1, timeout=60_000)
    win.close()
    assert not win.model_dock.is_running


def test_a_failing_run_is_a_dialog(
    qtbot, window: MainWindow, rgb_model: Path, dialogs: list[str]
) -> None:  # type: ignore[no-untyped-def]
    open_image(window, 128)
    dock = window.model_dock
    dock.open_model(rgb_model)
    dock.device.addItem("cuda:99")  # no such device on any machine that runs the tests
    dock.device.setCurrentText("cuda:99")
    with qtbot.waitSignal(dock.run_finished, timeout=60_000) as finished:
        dock.run("view")
    assert finished.args == [False]
    assert len(dialogs) == 1 and dialogs[0].startswith("Could not run the model")
    assert dock.eta.text() == "Failed" and dock.run_button.isEnabled()


def test_opening_another_image_during_a_run_cancels_it(
    qtbot, window: MainWindow, rgb_model: Path, dialogs: list[str]
) -> None:  # type: ignore[no-untyped-def]
    open_image(window, 1024)
    dock = window.model_dock
    dock.open_model(rgb_model)
    dock.tile.setValue(64)
    dock.run("image")
    qtbot.waitUntil(lambda: dock.progress.value() >= 1, timeout=60_000)
    open_image(window, 64)
    assert not dock.is_running
    qtbot.wait(50)
    assert dialogs == []  # stopped before its image closed: no read error
    assert window.session.prediction is None and window.canvas.layer("prediction") is None
