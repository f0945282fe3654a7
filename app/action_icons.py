"""Tool-bar icons drawn with QPainter (no image files to ship or license)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

SIZE = 64
INK = QColor(225, 228, 232)
ACCENT = QColor(90, 170, 255)


def _draw(paint: Callable[[QPainter], None]) -> QIcon:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(INK, 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    paint(painter)
    painter.end()
    return QIcon(pixmap)


def _magnifier(p: QPainter, sign: str) -> None:
    p.drawEllipse(QRectF(8, 8, 34, 34))
    p.drawLine(QPointF(38, 38), QPointF(56, 56))
    p.drawLine(QPointF(17, 25), QPointF(33, 25))
    if sign == "+":
        p.drawLine(QPointF(25, 17), QPointF(25, 33))


def _fit(p: QPainter) -> None:
    for a, b, c in (((8, 22), (8, 8), (22, 8)), ((42, 8), (56, 8), (56, 22))):
        p.drawPolyline(QPolygonF([QPointF(*a), QPointF(*b), QPointF(*c)]))
    for a, b, c in (((8, 42), (8, 56), (22, 56)), ((42, 56), (56, 56), (56, 42))):
        p.drawPolyline(QPolygonF([QPointF(*a), QPointF(*b), QPointF(*c)]))


def _one(p: QPainter) -> None:
    font = QFont()
    font.setPixelSize(30)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 0, SIZE, SIZE), Qt.AlignmentFlag.AlignCenter, "1:1")


def _open(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(6, 16)
    path.lineTo(24, 16)
    path.lineTo(30, 22)
    path.lineTo(58, 22)
    path.lineTo(58, 54)
    path.lineTo(6, 54)
    path.closeSubpath()
    p.drawPath(path)


def _run(p: QPainter) -> None:
    p.setBrush(ACCENT)
    p.setPen(QPen(ACCENT, 3))
    p.drawPolygon(QPolygonF([QPointF(16, 10), QPointF(54, 32), QPointF(16, 54)]))


def _stop(p: QPainter) -> None:
    p.setBrush(QColor(230, 90, 80))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(14, 14, 36, 36), 5, 5)


def _model(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(16, 16, 32, 32), 4, 4)
    for v in (24, 32, 40):
        p.drawLine(QPointF(v, 6), QPointF(v, 14))
        p.drawLine(QPointF(v, 50), QPointF(v, 58))
        p.drawLine(QPointF(6, v), QPointF(14, v))
        p.drawLine(QPointF(50, v), QPointF(58, v))


def _rect(p: QPainter) -> None:
    p.setPen(QPen(INK, 4, Qt.PenStyle.DashLine))
    p.drawRect(QRectF(10, 14, 44, 36))


def _hand(p: QPainter) -> None:
    for x, top in ((20, 14), (29, 8), (38, 10), (47, 18)):
        p.drawLine(QPointF(x, top), QPointF(x, 36))
    path = QPainterPath()
    path.moveTo(12, 34)
    path.quadTo(14, 58, 34, 58)
    path.quadTo(50, 58, 50, 36)
    p.drawPath(path)


_PAINTERS: dict[str, Callable[[QPainter], None]] = {
    "zoom_in": lambda p: _magnifier(p, "+"),
    "zoom_out": lambda p: _magnifier(p, "-"),
    "fit": _fit,
    "one": _one,
    "open": _open,
    "run": _run,
    "stop": _stop,
    "model": _model,
    "rect": _rect,
    "pan": _hand,
}


@cache
def icon(name: str) -> QIcon:
    """The icon called ``name`` (one of the keys of ``_PAINTERS``)."""
    return _draw(_PAINTERS[name])
