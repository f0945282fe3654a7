"""Navigator: a minimap of the whole image with the current view; click or drag to move.

For a label volume, a side view below it shows every slice's labels through the view's
centre (sagittal or coronal), the slice on screen marked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QDockWidget, QSizePolicy, QVBoxLayout, QWidget

from app.canvas.view import CanvasView


class NavigatorView(QWidget):
    """Paints the canvas's thumbnail scaled to fit, and the visible area as a rectangle."""

    def __init__(self, canvas: CanvasView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click or drag to move the view")
        canvas.view_changed.connect(self.update)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(240, 180)

    def image_rect(self) -> QRectF:
        """Where the thumbnail is drawn in this widget (aspect kept, centred)."""
        w, h = self.canvas.image_size
        if w <= 1 or h <= 1:
            return QRectF()
        scale = min((self.width() - 8) / w, (self.height() - 8) / h)
        dw, dh = w * scale, h * scale
        return QRectF((self.width() - dw) / 2, (self.height() - dh) / 2, dw, dh)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 32, 36))
        thumb: QImage | None = self.canvas.thumbnail
        target = self.image_rect()
        if thumb is None or target.isEmpty():
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, thumb)
        x0, y0, x1, y1 = self.canvas.viewport.visible_rect()
        w, h = self.canvas.image_size
        sx, sy = target.width() / w, target.height() / h
        view = QRectF(target.x() + x0 * sx, target.y() + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)
        painter.setPen(QPen(QColor(255, 210, 0), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(view.adjusted(1, 1, -1, -1))
        painter.end()

    def _move_to(self, pos: QPointF) -> None:
        target = self.image_rect()
        if target.isEmpty():
            return
        w, h = self.canvas.image_size
        x = (pos.x() - target.x()) / target.width() * w
        y = (pos.y() - target.y()) / target.height() * h
        self.canvas.center_on(min(max(x, 0), w), min(max(y, 0), h))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._move_to(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_to(event.position())


SIDE_LIMIT = 256  # the side view reads the label overview whose long side is at most this


class SideView(QWidget):
    """A sagittal or coronal reformat of a label volume through the view's centre.

    Slices run bottom (first) to top (last), the current one is marked; hidden for 2-D
    labels. Refreshed when the view or slice changes, and each second for edits.
    """

    def __init__(self, canvas: CanvasView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.axis = "sagittal"
        self.image: QImage | None = None
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("Labels of every slice through the view's centre; click: sagittal/coronal")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.refresh)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        for signal in (canvas.view_changed, canvas.layers_changed, canvas.slice_changed):
            signal.connect(self._timer.start)
        self.hide()

    def _labels(self) -> tuple[Any, Any] | None:
        layer = self.canvas.layer("semantic")
        if layer is None or not getattr(layer, "has_depth", False):
            return None
        return layer, layer.labels  # type: ignore[attr-defined]

    def refresh(self) -> None:
        found = self._labels()
        self.setVisible(found is not None)
        if found is None or not self.isVisible():
            return
        from app.canvas.overlays import class_table
        from app.canvas.render import argb_to_qimage
        from segcore.labels.edits.volume import side_view

        layer, labels = found
        level = next(
            (
                i
                for i, _ in enumerate(labels.level_downsamples)
                if max(labels.level_size(i)) <= SIDE_LIMIT
            ),
            len(labels.level_downsamples) - 1,
        )
        x, y, w, h = self.canvas.visible_box()
        where = {"column": x + w // 2} if self.axis == "sagittal" else {"row": y + h // 2}
        with layer.lock:
            classes = side_view(labels, level=level, **where)
        words = class_table(layer.classes)[classes[::-1]]  # last slice on top
        self.image = argb_to_qimage(np.ascontiguousarray(words))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 32, 36))
        if self.image is None:
            return
        target = QRectF(4, 4, self.width() - 8, self.height() - 8)
        painter.drawImage(target, self.image)
        depth = self.image.height()
        z = self.canvas.z
        line_y = target.top() + target.height() * (depth - 1 - z + 0.5) / max(depth, 1)
        painter.setPen(QPen(QColor(255, 210, 60), 1))
        painter.drawLine(QPointF(target.left(), line_y), QPointF(target.right(), line_y))
        painter.setPen(QColor(200, 200, 200))
        painter.drawText(target.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignTop, self.axis)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.axis = "coronal" if self.axis == "sagittal" else "sagittal"
        self.refresh()


class NavigatorDock(QDockWidget):
    def __init__(self, canvas: CanvasView, parent: QWidget | None = None) -> None:
        super().__init__("Navigator", parent)
        self.setObjectName("navigator_dock")
        self.view = NavigatorView(canvas)
        self.side = SideView(canvas)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.view, 2)
        column.addWidget(self.side, 1)
        self.setWidget(box)
