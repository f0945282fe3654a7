"""Confusion-matrix heat map: rows are the true classes, columns the predicted ones.

Each cell's colour is its count divided by its row's total (the fraction of a
true class predicted as each class), so a small class is as readable as a big
one; the cell text gives that percentage. A last column ("none") appears when
some labelled pixels got no class from the prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

# Anchors of a dark-to-bright scale (viridis-like, read as "more" on a dark theme).
SCALE = np.array(
    [[38, 20, 70], [49, 104, 142], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float64
)
EMPTY = QColor(45, 45, 48)  # a row with no pixels
MARGIN = 6


def scale_color(value: float) -> QColor:
    """Colour of a fraction in 0..1 on :data:`SCALE` (linear between anchors)."""
    v = min(max(float(value), 0.0), 1.0) * (len(SCALE) - 1)
    i = min(int(v), len(SCALE) - 2)
    rgb = SCALE[i] + (SCALE[i + 1] - SCALE[i]) * (v - i)
    return QColor(*(int(round(c)) for c in rgb))


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; rows summing to 0 are NaN."""
    totals = matrix.sum(axis=1, keepdims=True).astype(np.float64)
    out = np.full(matrix.shape, np.nan)
    np.divide(matrix, totals, out=out, where=totals > 0)
    return out


class ConfusionView(QWidget):
    """Paints a ``(n, n + 1)`` confusion matrix (see :mod:`segcore.metrics.confusion`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = np.zeros((0, 1), np.int64)
        self.names: list[str] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)

    def set_matrix(self, matrix: np.ndarray, names: Sequence[str]) -> None:
        """Show ``matrix`` (rows truth, columns prediction + "none") with class ``names``."""
        n = matrix.shape[0]
        if matrix.ndim != 2 or matrix.shape[1] not in (n, n + 1) or len(names) != n:
            raise ValueError(f"matrix {matrix.shape} does not fit {len(names)} class names")
        self.matrix = np.asarray(matrix, np.int64)
        self.names = list(names)
        self.update()

    def clear(self) -> None:
        self.matrix = np.zeros((0, 1), np.int64)
        self.names = []
        self.update()

    @property
    def columns(self) -> list[str]:
        n = len(self.names)
        has_none = self.matrix.shape[1] > n and self.matrix[:, n:].any()
        return self.names + (["none"] if has_none else [])

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(320, 320)

    # -- geometry ---------------------------------------------------------------

    def _label_sizes(self) -> tuple[int, int]:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(s) for s in self.columns), default=0)
        return widest + 2 * MARGIN, widest + 2 * MARGIN  # row labels left, column labels on top

    def cell_rect(self, row: int, col: int) -> QRect:
        """Where cell (true ``row``, predicted ``col``) is painted, in widget pixels."""
        left, top = self._label_sizes()
        cols, rows = len(self.columns), len(self.names)
        side = max(1, min((self.width() - left - MARGIN) // max(cols, 1),
                          (self.height() - top - MARGIN) // max(rows, 1)))  # fmt: skip
        return QRect(left + col * side, top + row * side, side, side)

    # -- painting -----------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if not self.names:
            painter.setPen(self.palette().text().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No comparison yet")
            return
        columns = self.columns
        fractions = row_normalised(self.matrix[:, : len(columns)])
        font = QFont(self.font())
        for r in range(len(self.names)):
            for c in range(len(columns)):
                cell = self.cell_rect(r, c)
                value = fractions[r, c]
                color = EMPTY if np.isnan(value) else scale_color(value)
                painter.fillRect(cell, color)
                if cell.width() >= 28 and not np.isnan(value) and self.matrix[r, c] > 0:
                    font.setPixelSize(max(8, min(12, cell.height() // 3)))
                    painter.setFont(font)
                    dark = color.lightnessF() > 0.55
                    painter.setPen(QColor(0, 0, 0) if dark else QColor(255, 255, 255))
                    painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, f"{value * 100:.0f}")
        self._paint_labels(painter, columns)
        painter.end()

    def _paint_labels(self, painter: QPainter, columns: list[str]) -> None:
        painter.setFont(self.font())
        painter.setPen(self.palette().text().color())
        left, top = self._label_sizes()
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, name in enumerate(self.names):
            cell = self.cell_rect(r, 0)
            painter.drawText(QRect(0, cell.top(), left - MARGIN, cell.height()), right, name)
        for c, name in enumerate(columns):
            cell = self.cell_rect(0, c)
            painter.save()  # column names read upwards, bottom-aligned on the grid
            painter.translate(cell.left(), top - MARGIN)
            painter.rotate(-90)
            painter.drawText(
                QRect(0, 0, top - 2 * MARGIN, cell.width()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            painter.restore()
        painter.drawText(
            QRect(0, 0, left, top), Qt.AlignmentFlag.AlignCenter, "true \u2193\npred \u2192"
        )
