"""Navigator: a minimap of the whole image with the current view; click or drag to move."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QDockWidget, QSizePolicy, QWidget

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


class NavigatorDock(QDockWidget):
    def __init__(self, canvas: CanvasView, parent: QWidget | None = None) -> None:
        super().__init__("Navigator", parent)
        self.setObjectName("navigator_dock")
        self.view = NavigatorView(canvas)
        self.setWidget(self.view)
