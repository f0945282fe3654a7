"""The main window: opening every kind of file, failures as dialogs, docks, persistence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from app_helpers import settle
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from app.session import document_for
from app.window import MainWindow
from segcore.io.array import ArraySource
from segcore.io.source import SourceMetadata


@pytest.fixture
def window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1100, 750)
    win.show()
    qtbot.waitExposed(win)
    return win


def open_and_wait(qtbot, window: MainWindow, path: Path | str) -> None:  # type: ignore[no-untyped-def]
    window.open_path(path)
    worker = window._open_worker
    qtbot.waitUntil(lambda: worker is not None and not worker.is_running, timeout=20_000)
    qtbot.wait(20)  # let the queued returned / errored signal arrive


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        ("nuclei_image", 1),  # 16-bit fluorescence TIFF
        ("landsat_nodata", 1),  # GeoTIFF with nodata and overviews
        ("dicom_radiograph", 1),  # DICOM with a window
        ("dicom_jpeg_multiframe", 120),  # multi-frame DICOM (slices)
        ("nifti_t1", 189),  # NIfTI volume
    ],
)
def test_opens_each_kind_of_file(qtbot, window: MainWindow, sample: Callable[[str], Path],
                                 dialogs: list[str], name: str, depth: int) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    path = sample(name)
    open_and_wait(qtbot, window, path)
    assert dialogs == []
    doc = window.session.document
    assert doc is not None and doc.path == path
    assert window.canvas.image_layer is not None
    assert window.windowTitle().startswith(path.name)
    assert window.slice_bar.isVisibleTo(window) == (depth > 1)
    if depth > 1:
        assert window.slice_slider.maximum() == depth - 1
        window.step_slice(1)
        assert window.canvas.z == depth // 2 + 1
    settle(qtbot, window.canvas)
    assert not window.canvas.loader.failed_keys
    shot = window.canvas.grab().toImage()
    centre = shot.pixelColor(shot.width() // 2, shot.height() // 2)
    assert centre.alpha() == 255


def test_georeferenced_status_bar(qtbot, window: MainWindow, sample) -> None:  # type: ignore[no-untyped-def]
    open_and_wait(qtbot, window, sample("spacenet_image"))
    canvas = window.canvas
    settle(qtbot, canvas)
    canvas.hovered.emit((10.0, 20.0))
    status = window.status
    assert status.position.text() == "x 10, y 20"
    meta = window.session.document.source.metadata  # type: ignore[union-attr]
    a, b, c, d, e, f = meta.transform  # type: ignore[misc]
    assert (
        status.coords.text() == f"{a * 10 + b * 20 + c:.2f}, {d * 10 + e * 20 + f:.2f} (EPSG:32616)"
    )
    value = window.session.document.source.read_region(0, 10, 20, 1, 1)[0, 0, 0]  # type: ignore[union-attr]
    assert status.values.text() == str(value)
    canvas.hovered.emit(None)
    assert status.position.text() == ""


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"this is not an image at all", "not.tif"),
        (b"\x00\x01\x02garbage" * 50, "not.tif"),
    ],
)
def test_bad_files_show_a_dialog_and_the_app_carries_on(
    qtbot, window: MainWindow, tmp_path: Path, dialogs: list[str], content: bytes, expect: str
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "not.tif"
    bad.write_bytes(content)
    open_and_wait(qtbot, window, bad)
    assert len(dialogs) == 1 and dialogs[0].startswith(f"Could not open {expect}")
    assert window.session.document is None
    open_and_wait(qtbot, window, tmp_path / "missing.png")
    assert len(dialogs) == 2 and "missing.png" in dialogs[1]


def test_drop_opens_the_file(qtbot, window: MainWindow, sample) -> None:  # type: ignore[no-untyped-def]
    path = sample("nuclei_image")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    # Qt only delivers drop events during a real drag, so the handlers are called directly.
    enter = QDragEnterEvent(QPoint(50, 50), *args[1:])
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    window.dropEvent(QDropEvent(*args))
    qtbot.waitUntil(lambda: window.session.document is not None, timeout=20_000)
    assert window.session.document.path == path  # type: ignore[union-attr]


def test_recent_files_and_layout_persist(qtbot, sample, settings_file: Path) -> None:  # type: ignore[no-untyped-def]
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.resize(700, 650)  # the offscreen screen is 800 x 600; restoring clamps to it
    first.navigator_dock.hide()
    path = sample("nuclei_image")
    open_and_wait(qtbot, first, path)
    geometry = first.saveGeometry()
    first.close()
    assert settings_file.exists()
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    actions = second.recent_menu.actions()
    assert [a.text() for a in actions] == [str(path.resolve())]
    # Saved on close, restored on start (the offscreen screen may clamp the size).
    assert second.settings.value("window/geometry") == geometry
    assert not second.navigator_dock.isVisibleTo(second)
    actions[0].trigger()
    qtbot.waitUntil(lambda: second.session.document is not None, timeout=20_000)
    second.close()


def test_layers_dock_toggles_overlays(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    from segcore.labels.adapters import ArrayLabels
    from segcore.synthetic import SCENE_CLASSES, make_scene

    scene = make_scene(256, 256, seed=4)
    labels = ArrayLabels(scene.semantic, instances=scene.instance)
    doc = document_for(ArraySource(scene.image), labels=labels, classes=SCENE_CLASSES)
    window.open_document(doc)
    canvas, dock = window.canvas, window.layers_dock
    assert [lay.id for lay in canvas.layers] == ["image", "semantic", "instance", "panoptic"]
    assert [lay.visible for lay in canvas.layers] == [True, True, False, False]
    assert dock.list.count() == 4 and dock.list.item(0).text() == "Panoptic"
    dock.set_visible("panoptic", True)
    assert canvas.layer("panoptic").visible  # type: ignore[union-attr]
    dock.select("semantic")
    dock.opacity.setValue(80)
    assert canvas.layer("semantic").opacity == pytest.approx(0.8)  # type: ignore[union-attr]
    dock.outlines.setChecked(True)
    assert canvas.layer("semantic").outlines  # type: ignore[union-attr]
    settle(qtbot, canvas)
    assert window.classes_dock.list.count() == 5
    window.classes_dock.select_index(3)
    assert window.classes_dock.current_class.name == "building"  # type: ignore[union-attr]
    canvas.hovered.emit((128.0, 128.0))
    assert "Labels: " in window.status.labels.text()


def test_display_panel_changes_bands_and_stretch(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    pixels = np.zeros((64, 64, 4), np.uint16)
    pixels[..., 3] = np.arange(64, dtype=np.uint16)[None, :] * 100
    window.open_document(document_for(ArraySource(pixels)))
    dock = window.layers_dock
    dock.select("image")
    panel = dock.display
    assert dock.display_box.isVisibleTo(dock)
    panel.mode.setCurrentText("One band")
    panel.band_boxes[0].setCurrentIndex(3)
    panel.colormap.setCurrentText("viridis")
    display = window.canvas.image_layer.display  # type: ignore[union-attr]
    assert display.bands == (3,) and display.colormap == "viridis"
    assert display.low[0] == pytest.approx(np.percentile(pixels[..., 3], 2))
    panel.gamma.setValue(200)
    assert window.canvas.image_layer.display.gamma == 2.0  # type: ignore[union-attr]


def test_dicom_window_presets(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    meta = SourceMetadata("dicom", modality="CT", window=(40.0, 400.0))
    ct = ArraySource(np.full((32, 32), -500, np.int16), metadata=meta)
    window.open_document(document_for(ct))
    assert window.canvas.image_layer.display.low == (-160.0,)  # type: ignore[union-attr]
    window.layers_dock.select("image")
    window.layers_dock.display.window_preset.setCurrentText("Lung")
    assert window.canvas.image_layer.display.low == (-1350.0,)  # type: ignore[union-attr]


def test_navigator_click_moves_the_view(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.open_document(document_for(ArraySource(np.zeros((2000, 3000, 3), np.uint8))))
    window.canvas.one_to_one()
    nav = window.navigator_dock.view
    target = nav.image_rect()
    click = QPoint(int(target.x() + target.width() * 0.75), int(target.y() + target.height() * 0.5))
    qtbot.mouseClick(nav, Qt.MouseButton.LeftButton, pos=click)
    x0, y0, x1, y1 = window.canvas.viewport.visible_rect()
    step = 3000 / target.width()  # image pixels per navigator pixel: a click is that exact
    assert (x0 + x1) / 2 == pytest.approx(2250, abs=1.5 * step)
    assert (y0 + y1) / 2 == pytest.approx(1000, abs=1.5 * step)


def test_help_dialogs(qtbot, window: MainWindow, dialogs: list[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app import dialogs as dialog_module

    shown: list[int] = []
    monkeypatch.setattr(
        dialog_module.ShortcutsDialog, "exec", lambda self: shown.append(self.table.rowCount())
    )
    window.actions_by_name["shortcuts"].trigger()
    assert shown and shown[0] > 15
    window.actions_by_name["about"].trigger()
    assert dialogs == ["About Tessera"]


def test_close_image(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.open_document(document_for(ArraySource(np.zeros((32, 32), np.uint8))))
    window.close_image()
    assert window.session.document is None and window.canvas.layers == []
    assert window.windowTitle() == "Tessera"


def test_launch_opens_the_command_line_image(qtbot, sample) -> None:  # type: ignore[no-untyped-def]
    from app.main import launch

    path = sample("nuclei_image")
    window = launch([str(path)])
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session.document is not None, timeout=20_000)
    assert window.session.document.path == path  # type: ignore[union-attr]
    assert [a.text() for a in window.recent_menu.actions()] == [str(path.resolve())]


def test_launch_with_a_bad_path_shows_a_dialog(qtbot, tmp_path: Path, dialogs: list[str]) -> None:  # type: ignore[no-untyped-def]
    from app.main import launch

    window = launch([str(tmp_path / "nothing.tif")])
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: len(dialogs) == 1, timeout=20_000)
    assert dialogs[0].startswith("Could not open nothing.tif")
    assert window.session.document is None


def test_launch_without_arguments_opens_the_sample_and_its_model(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.main import launch
    from app.session import SAMPLE_IMAGE, SAMPLE_MODEL

    window = launch([])
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session.document is not None, timeout=20_000)
    if SAMPLE_IMAGE.is_file():
        assert window.session.document.path == SAMPLE_IMAGE  # type: ignore[union-attr]
    else:  # no bundled sample: a synthetic scene with its labels
        assert window.canvas.layer("semantic") is not None
    if SAMPLE_MODEL.is_file():
        qtbot.waitUntil(lambda: window.session.model is not None, timeout=10_000)
        # the sample opens with its prediction, as the README shows it
        qtbot.waitUntil(lambda: window.session.prediction is not None, timeout=60_000)
        # the job's thread ends before its finished handler runs on the GUI thread
        qtbot.waitUntil(lambda: not window.model_dock.is_running, timeout=120_000)
        qtbot.waitUntil(window.model_dock.run_button.isEnabled, timeout=10_000)
