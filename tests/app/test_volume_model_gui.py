"""The Model dock on a volume: whole slices into a prediction volume that follows the slider."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from app_helpers import settle
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QSpinBox

import app.docks.model_dock as model_dock
from app.prediction_volume import PredictionVolume
from app.session import document_for, load_document
from app.window import MainWindow
from segcore.engine import InferOptions, infer
from segcore.io.array import ArraySource
from segcore.io.plane import PlaneSource
from segcore.jobs import Progress, run_to_end
from segcore.labels.schema import UNLABELLED, make_classes

W, H, D = 48, 40, 3


@pytest.fixture(scope="module")
def gray_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-level U-Net taught in a few steps: class 1 on bright pixels, 0 on dark ones
    (a random-init one predicts one class everywhere, which could not tell slices apart)."""
    from segcore.models import build_model, save_model
    from segcore.models.meta import ModelMeta, Normalization

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    config = {"channels": [4, 8]}
    module = build_model("small_unet", num_classes=3, in_channels=1, config=config)
    x = torch.zeros(2, 1, 32, 32)
    x[0, :, :, 16:] = x[1, :, :, :16] = 1.0
    target = (x[:, 0] > 0.5).long()
    optimiser = torch.optim.Adam(module.parameters(), 1e-2)
    for _ in range(40):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(module((x - 0.5) / 0.15), target).backward()
        optimiser.step()
    module.eval()
    meta = ModelMeta(
        "small_unet", config, 1, tuple(make_classes(["a", "b", "c"])),
        Normalization((0.5,), (0.15,)), tile_size=64, output_stride=2,
        receptive_field=8, exact=True,
    )  # fmt: skip
    return save_model(tmp_path_factory.mktemp("models") / "tiny1.safetensors", module, meta)


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    data = np.full((W, H, D), 128, np.uint8)  # (col, row, slice)
    data[:, :, 0] = 0
    data[W // 2 :, :, 0] = 255  # slice 0: dark left, bright right
    data[:, :, 2] = 255 - data[:, :, 0]  # slice 2 the other way round: other classes
    path = tmp_path / "vol.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([0.8, 0.8, 2.5, 1.0])), path)
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    qtbot.waitExposed(win)
    win.open_document(load_document(path))
    assert win.session.document is not None and win.session.document.source.depth == D
    return win


def engine_slice(window: MainWindow, model: Path, z: int) -> np.ndarray:
    """The engine alone on slice ``z``: what the dock must show there."""
    source = window.session.document.source  # type: ignore[union-attr]
    options = InferOptions(device="cpu", tile=64)
    labels = run_to_end(infer(PlaneSource(source, z), model, None, options=options)).labels
    assert labels is not None
    return labels


def shown(qtbot: Any, window: MainWindow, z: int) -> np.ndarray:
    """Go to slice ``z``; the Prediction layer's class map there, read as the canvas reads it."""
    window.slice_slider.setValue(z)
    layer = window.canvas.layer("prediction")
    assert layer is not None and window.canvas.z == z
    return np.asarray(layer.read(0, 0, 0, W, H, z))[:, :]


def screen_colour(qtbot: Any, window: MainWindow, col: int, row: int) -> tuple[int, int, int]:
    settle(qtbot, window.canvas)
    shot = window.canvas.grab().toImage()
    x, y = (int(v) for v in window.canvas.viewport.to_screen(col + 0.5, row + 0.5))
    c = shot.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def test_run_on_offers_slices_on_a_volume(window: MainWindow) -> None:
    scope = window.model_dock.scope
    items = [scope.itemText(i) for i in range(scope.count())]
    assert items == ["This slice", "Slice range...", "Whole volume"]


def test_whole_volume_run_shows_each_slice_its_own_prediction(
    qtbot: Any, window: MainWindow, gray_model: Path
) -> None:
    dock = window.model_dock
    assert dock.open_model(gray_model)
    dock.tile.setValue(64)
    with qtbot.waitSignal(dock.run_finished, timeout=60_000) as finished:
        dock.run("volume")
    assert finished.args == [True]
    pred = window.session.prediction
    assert isinstance(pred, PredictionVolume) and pred.predicted == {0, 1, 2}
    assert pred.root.parent.name == "predictions" and pred.root.is_dir()
    assert "slices 1-3 of 3" in dock.eta.text()
    assert window.canvas.layer("confidence") is None  # no confidence kept per slice
    want0, want2 = engine_slice(window, gray_model, 0), engine_slice(window, gray_model, 2)
    differ = np.argwhere(want0 != want2)
    assert len(differ) > 0  # the two slices really have different predictions
    np.testing.assert_array_equal(shown(qtbot, window, 0), want0)
    row, col = (int(v) for v in differ[len(differ) // 2])
    layer = window.canvas.layer("prediction")
    assert layer is not None
    layer.opacity = 1.0
    assert screen_colour(qtbot, window, col, row) == layer.classes[int(want0[row, col])].color
    np.testing.assert_array_equal(shown(qtbot, window, 2), want2)
    assert screen_colour(qtbot, window, col, row) == layer.classes[int(want2[row, col])].color
    # Accept Prediction copies from the slice on screen too
    image = window.annotation.ctx.prediction_source()
    assert image is not None
    np.testing.assert_array_equal(image.read_region(0, 0, 0, W, H), want2)
    # another image: the scratch prediction volume is deleted
    root = pred.root
    window.clear_prediction()
    assert window.session.prediction is None and not root.exists()


def test_cancel_keeps_the_slices_done_and_later_slices_show_nothing(
    qtbot: Any, window: MainWindow, gray_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dock = window.model_dock
    dock.open_model(gray_model)
    dock.tile.setValue(64)
    gate = threading.Event()
    real = model_dock.volume_job

    def held(*args: Any) -> Iterator[Progress]:
        """The real job, held after its first slice until the test has cancelled."""
        job = real(*args)
        for step in job:
            yield step
            if isinstance(step.payload, int):
                gate.wait(20)
        return None

    def cancel_after_first_slice(box: object) -> None:
        if box is not None:
            dock.cancel()
            gate.set()

    monkeypatch.setattr(model_dock, "volume_job", held)
    window.session.prediction_changed.connect(cancel_after_first_slice)
    try:
        with qtbot.waitSignal(dock.run_finished, timeout=60_000) as finished:
            dock.run("volume")
    finally:
        window.session.prediction_changed.disconnect(cancel_after_first_slice)
    assert finished.args == [False]
    assert dock.eta.text() == "Cancelled: 1 of 3 slices kept"
    pred = window.session.prediction
    assert isinstance(pred, PredictionVolume) and pred.predicted == {0}
    np.testing.assert_array_equal(shown(qtbot, window, 0), engine_slice(window, gray_model, 0))
    assert (shown(qtbot, window, 2) == UNLABELLED).all()
    layer = window.canvas.layer("prediction")
    assert layer is not None
    layer.opacity = 1.0
    with_layer = screen_colour(qtbot, window, W // 2, H // 2)
    layer.visible = False
    window.canvas.update()
    assert screen_colour(qtbot, window, W // 2, H // 2) == with_layer  # nothing drawn there
    # "This slice" and "Slice range..." add slices to the same prediction volume
    layer.visible = True
    with qtbot.waitSignal(dock.run_finished, timeout=60_000):
        dock.run("slice")  # slice 2 is on screen
    monkeypatch.setattr(model_dock, "ask_slices", lambda parent, depth, z: (1,))
    with qtbot.waitSignal(dock.run_finished, timeout=60_000):
        dock.run("range")
    assert window.session.prediction is pred and pred.predicted == {0, 1, 2}
    np.testing.assert_array_equal(shown(qtbot, window, 1), engine_slice(window, gray_model, 1))
    np.testing.assert_array_equal(shown(qtbot, window, 2), engine_slice(window, gray_model, 2))
    # another image: the scratch folder goes, and "Run on" offers areas again
    root = pred.root
    window.open_document(document_for(ArraySource(np.zeros((20, 20), np.uint8), name="flat")))
    assert window.session.prediction is None and not root.exists()
    scope = dock.scope
    assert [scope.itemData(i) for i in range(scope.count())] == ["view", "rect", "image"]


def test_slice_range_dialog_gives_0_based_slices_in_order(qtbot: Any) -> None:
    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QDialog)
        first, last = dialog.findChildren(QSpinBox)
        assert (first.value(), last.value()) == (3, 5)  # from the slice on screen, 1-based
        first.setValue(4)
        last.setValue(2)  # backwards: still the slices between
        dialog.accept()

    QTimer.singleShot(0, answer)
    assert model_dock.ask_slices(None, 5, 2) == (1, 2, 3)
