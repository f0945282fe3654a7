"""A live chart of a training run: training loss and validation mIoU against epochs.

The loss is plotted after every step, at fractional epochs (step 3 of 4 in
epoch 2 is at x = 1.75), so the curve moves while an epoch runs; validation
mIoU gets one point per epoch, on its own 0..1 axis on the right.
"""

from __future__ import annotations

import math

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QScatterSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

LOSS_COLOR = QColor(230, 126, 34)
MIOU_COLOR = QColor(52, 152, 219)


class TrainingChart(QChartView):
    """Two curves (loss on the left axis, mIoU on the right) that grow as points arrive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        chart = QChart()
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(220)  # shorter, and QtCharts elides the axis labels
        chart.setTheme(QChart.ChartTheme.ChartThemeDark)
        chart.setBackgroundRoundness(0)
        chart.setMargins(QMargins(2, 2, 2, 2))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.loss = QLineSeries()
        self.loss.setName("training loss")
        self.loss.setPen(QPen(LOSS_COLOR, 2))
        self.miou = QLineSeries()
        self.miou.setName("validation mIoU")
        self.miou.setPen(QPen(MIOU_COLOR, 2))
        # markers, so a single epoch's mIoU is visible before there is a line
        self.miou_dots = QScatterSeries()
        self.miou_dots.setColor(MIOU_COLOR)
        self.miou_dots.setMarkerSize(7.0)
        for series in (self.loss, self.miou, self.miou_dots):
            chart.addSeries(series)
        chart.legend().markers(self.miou_dots)[0].setVisible(False)
        self.x_axis = QValueAxis()
        self.x_axis.setTitleText("epoch")
        self.x_axis.setLabelFormat("%.0f")
        self.x_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self.x_axis.setTickAnchor(0.0)
        self.loss_axis = QValueAxis()
        self.loss_axis.setTitleText("loss")
        self.loss_axis.setLabelFormat("%.2f")
        self.loss_axis.setTickCount(6)
        self.miou_axis = QValueAxis()
        self.miou_axis.setTitleText("mIoU")
        self.miou_axis.setRange(0.0, 1.0)
        self.miou_axis.setTickCount(6)
        self.miou_axis.setGridLineVisible(False)  # the loss axis draws the grid
        self.miou_axis.setLabelFormat("%.1f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.loss_axis, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(self.miou_axis, Qt.AlignmentFlag.AlignRight)
        self.loss.attachAxis(self.x_axis)
        self.loss.attachAxis(self.loss_axis)
        for series in (self.miou, self.miou_dots):
            series.attachAxis(self.x_axis)
            series.attachAxis(self.miou_axis)
        self._max_loss = 0.0
        self._max_x = 1.0
        self.clear()

    def clear(self) -> None:
        """Empty both curves (a new run starts)."""
        for series in (self.loss, self.miou, self.miou_dots):
            series.clear()
        self._max_loss, self._max_x = 0.0, 1.0
        self.x_axis.setRange(0.0, 1.0)
        self._epoch_ticks()
        self.loss_axis.setRange(0.0, 1.0)

    def add_loss(self, epoch: float, loss: float) -> None:
        """The mean training loss so far in this epoch, at fractional ``epoch``."""
        if not math.isfinite(loss):
            return
        self.loss.append(QPointF(epoch, loss))
        self._max_loss = max(self._max_loss, loss)
        self.loss_axis.setRange(0.0, self._max_loss * 1.05 or 1.0)
        self.loss_axis.applyNiceNumbers()
        self._grow_x(epoch)

    def add_miou(self, epoch: float, miou: float) -> None:
        """Validation mIoU after ``epoch``."""
        if not math.isfinite(miou):
            return
        self.miou.append(QPointF(epoch, miou))
        self.miou_dots.append(QPointF(epoch, miou))
        self._grow_x(epoch)

    def _grow_x(self, x: float) -> None:
        if x > self._max_x:
            self._max_x = float(math.ceil(x))
            self.x_axis.setRange(0.0, self._max_x)
            self._epoch_ticks()

    def _epoch_ticks(self) -> None:
        """Ticks on whole epochs only, at most ~10 of them (never "0 0 1 1")."""
        self.x_axis.setTickInterval(float(max(1, math.ceil(self._max_x / 10))))

    def points(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """(loss points, mIoU points) as (x, y) pairs, for tests and export."""
        return (
            [(p.x(), p.y()) for p in self.loss.points()],
            [(p.x(), p.y()) for p in self.miou.points()],
        )
