"""Metrics dock: the current prediction against the user's labels.

Compare runs :func:`segcore.metrics.compare.compare_semantic` in a worker over
the whole image or the visible area, reading through the labels lock. Only
pixels the model has predicted count (``predicted_only``: a run over part of the
image is judged on that part), and unlabelled pixels are left out as usual. The
result is a per-class table (IoU, Dice, precision, recall, pixels) and a
row-normalised confusion-matrix heat map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import errors
from app.context import AppContext
from app.metrics_view import ConfusionView
from app.worker import Worker
from segcore.labels.adapters import LabelView
from segcore.labels.box import Box
from segcore.labels.schema import ClassInfo
from segcore.metrics.confusion import ConfusionMatrix

COLUMNS = ("Class", "IoU", "Dice", "Precision", "Recall", "Pixels")
REGIONS = ("Whole image", "Visible area")
Rect = tuple[int, int, int, int]


def class_names(labels: tuple[ClassInfo, ...], predicted: tuple[ClassInfo, ...]) -> list[str]:
    """Names for ids 0..max: the labels' class names first, then the model's, else the id."""
    by_id = {c.id: c.name for c in predicted} | {c.id: c.name for c in labels}
    n = max(by_id, default=-1) + 1
    return [by_id.get(i, str(i)) for i in range(n)]


def _cell(value: float, *, digits: int = 3) -> QTableWidgetItem:
    text = "-" if np.isnan(value) else f"{value:.{digits}f}"
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class MetricsDock(QDockWidget):
    """Per-class scores and the confusion matrix of prediction vs labels."""

    def __init__(self, context: AppContext) -> None:
        super().__init__("Metrics")
        self.setObjectName("metrics_dock")
        self.session = session = context.session
        self.visible_box: Callable[[], Rect] = context.canvas.visible_box
        self.matrix: ConfusionMatrix | None = None
        self.names: list[str] = []
        self._names: list[str] = []

        body = QWidget()
        column = QVBoxLayout(body)
        row = QHBoxLayout()
        self.region = QComboBox()
        self.region.addItems(REGIONS)
        self.region.setToolTip("Compare over the whole image or only the area on screen")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Compare the prediction with your labels")
        self.compare_button.clicked.connect(self.compare)
        row.addWidget(self.region, 1)
        row.addWidget(self.compare_button)
        column.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.job = context.jobs.slot(
            "compare the prediction with the labels",
            yielded=self._progress,
            returned=self._returned,
            errored=self._failed,
            finished=self.progress.hide,
        )
        column.addWidget(self.progress)
        self.summary = QLabel("Run a model, label some pixels, then Compare.")
        self.summary.setWordWrap(True)
        column.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.heatmap = ConfusionView()
        split.addWidget(self.table)
        split.addWidget(self.heatmap)
        split.setStretchFactor(1, 2)  # the heat map gets most of the height
        column.addWidget(split, 1)
        self.setWidget(body)
        session.document_changed.connect(lambda _doc: self.reset())

    # -- running -------------------------------------------------------------------

    def compare(self) -> Worker | None:
        """Start comparing (replacing a comparison still running); None if nothing to compare."""
        doc, pred = self.session.document, self.session.prediction
        if doc is None or doc.labels is None or pred is None:
            self.summary.setText("Needs an image with labels and a prediction (Model dock: Run).")
            return None
        self.cancel()
        w, h = doc.size
        box: Rect = (0, 0, w, h)
        if self.region.currentText() == "Visible area":
            x, y, bw, bh = self.visible_box()
            x0, y0 = max(x, 0), max(y, 0)
            box = (x0, y0, max(min(x + bw, w) - x0, 0), max(min(y + bh, h) - y0, 0))
        if box[2] <= 0 or box[3] <= 0:
            self.summary.setText("The image is not on screen.")
            return None
        label_classes = doc.classes or self.session.prediction_classes
        names = class_names(tuple(label_classes), tuple(self.session.prediction_classes))
        if not names:
            self.summary.setText("The labels have no classes.")
            return None
        lock = doc.labels_lock
        predicted = LabelView(pred, lock=lock)
        truth = LabelView(doc.labels, classes=label_classes, lock=lock)
        region = Box(*box)

        def job() -> Any:
            from segcore.metrics.compare import compare_semantic

            return compare_semantic(
                predicted, truth, num_classes=len(names), window=1024, box=region,
                predicted_only=True,
            )  # fmt: skip

        self._names = names
        self.progress.setValue(0)
        self.progress.show()
        self.summary.setText("Comparing...")
        return self.job.start(job, replace=True)

    def cancel(self) -> None:
        self.job.cancel()

    def shutdown(self) -> None:
        """Stop a running comparison and wait for it (window closing, tests)."""
        self.job.shutdown()

    def reset(self) -> None:
        self.cancel()
        self.matrix, self.names = None, []
        self.table.setRowCount(0)
        self.heatmap.clear()
        self.progress.hide()
        self.summary.setText("Run a model, label some pixels, then Compare.")

    def _progress(self, step: Any) -> None:
        self.progress.setValue(int(step.fraction * 1000))

    def _failed(self, exc: BaseException) -> None:
        self.summary.setText("The comparison failed.")
        errors.report(exc, context="compare the prediction with the labels")

    # -- showing -------------------------------------------------------------------

    def _returned(self, cm: ConfusionMatrix) -> None:
        self.show_result(cm, self._names)

    def show_result(self, cm: ConfusionMatrix, names: list[str]) -> None:
        """Fill the table, the summary and the heat map from ``cm``."""
        self.matrix, self.names = cm, names
        scores = cm.scores()
        present = [i for i in range(len(names)) if cm.matrix[i].sum() or cm.matrix[:, i].sum()]
        self.table.setRowCount(len(present))
        for r, i in enumerate(present):
            self.table.setItem(r, 0, QTableWidgetItem(names[i]))
            for c, values in enumerate(
                (scores.iou, scores.dice, scores.precision, scores.recall), start=1
            ):
                self.table.setItem(r, c, _cell(float(values[i])))
            support = QTableWidgetItem(f"{int(scores.support[i]):,}")
            support.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(r, 5, support)
        self.table.resizeColumnsToContents()
        total = int(cm.matrix.sum())
        if total == 0:
            self.summary.setText("No labelled pixel has a prediction yet.")
        else:
            self.summary.setText(
                f"mIoU {scores.miou:.3f} · pixel accuracy {scores.pixel_accuracy:.3f} · "
                f"mean class accuracy {scores.mean_accuracy:.3f} · {total:,} pixels"
            )
        rows = np.array(present, int)
        self.heatmap.set_matrix(
            cm.matrix[np.ix_(rows, np.append(rows, len(names)))], [names[i] for i in present]
        )
