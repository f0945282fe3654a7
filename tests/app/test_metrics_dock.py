"""The Metrics dock: a hand-checkable prediction vs labels, table values and heat-map colours."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from annotate_helpers import make_window

from app.docks.metrics_dock import MetricsDock, class_names
from app.metrics_view import SCALE, ConfusionView, row_normalised, scale_color
from app.session import document_for
from app.window import MainWindow
from segcore.io.array import ArraySource
from segcore.labels.adapters import ArrayLabels
from segcore.labels.schema import UNLABELLED, make_classes

CLASSES = tuple(make_classes(["sky", "road"]))


def open_scene(qtbot: Any) -> MainWindow:
    """8 x 6 image. Labels: cols 0-3 sky, cols 4-7 road (rows 0-5), row 5 col 0 unlabelled.
    Prediction (rows 0-3 only): cols 0-5 sky, cols 6-7 road."""
    window = make_window(qtbot)
    sem = np.zeros((6, 8), np.uint8)
    sem[:, 4:] = 1
    sem[3, 0] = UNLABELLED
    doc = document_for(ArraySource(np.zeros((6, 8, 3), np.uint8), name="scene"),
                       labels=ArrayLabels(sem), classes=CLASSES)  # fmt: skip
    window.open_document(doc)
    pred = np.zeros((4, 8), np.uint8)
    pred[:, 6:] = 1
    window.session.new_prediction(CLASSES)
    window.session.add_prediction(0, 0, pred, None)
    return window


def run(qtbot: Any, dock: MetricsDock) -> None:
    assert dock.compare() is not None
    qtbot.waitUntil(lambda: dock.matrix is not None, timeout=15_000)


def table(dock: MetricsDock) -> list[list[str]]:
    t = dock.table
    items = [[t.item(r, c) for c in range(t.columnCount())] for r in range(t.rowCount())]
    return [[i.text() if i is not None else "" for i in row] for row in items]


def test_table_shows_hand_computed_scores(qtbot: Any) -> None:
    window = open_scene(qtbot)
    dock = window.io.metrics_dock
    assert not dock.isVisible()  # View > Metrics shows it
    window.actions_by_name["metrics_dock"].trigger()
    assert dock.isVisible()
    run(qtbot, dock)
    # Rows 0-3 only (rows 4-5 have no prediction), pixel (0, 3) is unlabelled: 31 pixels.
    # sky: truth 15 px, all predicted sky; road predicted sky in cols 4-5 (8 px).
    # sky IoU = 15 / (15 + 8) ; road IoU = 8 / 16 ; Dice sky = 30 / 38.
    assert dock.matrix is not None
    assert dock.matrix.matrix.tolist() == [[15, 0, 0], [8, 8, 0]]
    assert table(dock) == [
        ["sky", f"{15 / 23:.3f}", f"{30 / 38:.3f}", f"{15 / 23:.3f}", "1.000", "15"],
        ["road", "0.500", f"{16 / 24:.3f}", "1.000", "0.500", "16"],
    ]
    miou = (15 / 23 + 0.5) / 2
    assert f"mIoU {miou:.3f}" in dock.summary.text()
    assert f"pixel accuracy {23 / 31:.3f}" in dock.summary.text()


def test_heat_map_paints_row_normalised_colours(qtbot: Any) -> None:
    window = open_scene(qtbot)
    dock = window.io.metrics_dock
    run(qtbot, dock)
    view = dock.heatmap
    view.resize(300, 300)
    image = view.grab().toImage()
    ratio = image.devicePixelRatio()

    def color_at(row: int, col: int) -> tuple[int, int, int]:
        corner = view.cell_rect(row, col).topLeft()
        c = image.pixelColor(int((corner.x() + 2) * ratio), int((corner.y() + 2) * ratio))
        return c.red(), c.green(), c.blue()

    assert view.columns == ["sky", "road"]  # every labelled pixel got a class: no "none"
    assert color_at(0, 0) == tuple(SCALE[-1].astype(int))  # sky -> sky: 100 %
    assert color_at(0, 1) == tuple(SCALE[0].astype(int))  # sky -> road: 0 %
    half = scale_color(0.5)
    assert color_at(1, 0) == color_at(1, 1) == (half.red(), half.green(), half.blue())
    assert (half.red(), half.green(), half.blue()) == tuple(SCALE[2].astype(int))


def test_visible_area_and_missing_inputs(qtbot: Any) -> None:
    window = make_window(qtbot)
    dock = window.io.metrics_dock
    assert dock.compare() is None
    assert "prediction" in dock.summary.text()
    window.close()

    window = open_scene(qtbot)
    dock = window.io.metrics_dock
    dock.visible_box = lambda: (-5, -5, 10, 7)  # shows cols 0-4, rows 0-1
    dock.region.setCurrentText("Visible area")
    run(qtbot, dock)
    assert dock.matrix is not None
    assert dock.matrix.matrix.tolist() == [[8, 0, 0], [2, 0, 0]]
    window.close_image()
    assert dock.matrix is None and dock.table.rowCount() == 0


def test_helpers() -> None:
    assert class_names(CLASSES, tuple(make_classes(["a", "b", "c"]))) == ["sky", "road", "c"]
    out = row_normalised(np.array([[1, 3, 0], [0, 0, 0]]))
    assert out[0].tolist() == [0.25, 0.75, 0.0] and np.isnan(out[1]).all()
    view = ConfusionView()
    with pytest.raises(ValueError, match="class names"):
        view.set_matrix(np.zeros((2, 3), np.int64), ["a"])
