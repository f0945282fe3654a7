"""Icons of the annotation tools, drawn with QPainter (no image files to ship or license)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

SIZE = 64
INK = QColor(225, 228, 232)
ACCENT = QColor(90, 170, 255)
WARM = QColor(255, 190, 60)
RED = QColor(235, 95, 85)


def _pen(color: QColor = INK, width: float = 5, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    return QPen(color, width, style, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)


def _poly(*points: tuple[float, float]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points])


def _brush(p: QPainter) -> None:
    p.drawLine(QPointF(54, 10), QPointF(28, 36))
    p.setBrush(ACCENT)
    p.setPen(_pen(ACCENT, 3))
    p.drawEllipse(QRectF(10, 34, 22, 20))


def _eraser(p: QPainter) -> None:
    p.setBrush(QColor(240, 150, 170))
    p.drawPolygon(_poly((10, 40), (34, 16), (54, 36), (30, 60)))
    p.drawLine(QPointF(22, 28), QPointF(42, 48))


def _polygon(p: QPainter) -> None:
    corners = ((12, 50), (20, 12), (52, 20), (46, 54))
    p.drawPolygon(_poly(*corners))
    p.setBrush(ACCENT)
    p.setPen(_pen(ACCENT, 2))
    for x, y in corners:
        p.drawEllipse(QPointF(x, y), 5, 5)


def _lasso(p: QPainter) -> None:
    p.drawEllipse(QRectF(10, 10, 44, 30))
    path = QPainterPath(QPointF(22, 38))
    path.cubicTo(14, 48, 30, 52, 24, 60)
    p.drawPath(path)


def _rectangle(p: QPainter) -> None:
    p.setBrush(QColor(90, 170, 255, 90))
    p.drawRect(QRectF(10, 14, 44, 36))


def _fill(p: QPainter) -> None:
    p.drawPolygon(_poly((14, 30), (32, 12), (50, 30), (32, 48)))
    p.setBrush(ACCENT)
    p.setPen(_pen(ACCENT, 2))
    p.drawEllipse(QRectF(46, 40, 12, 16))


def _wand(p: QPainter) -> None:
    p.drawLine(QPointF(12, 54), QPointF(40, 26))
    p.setPen(_pen(WARM, 4))
    for a, b in (((46, 8), (46, 18)), ((41, 13), (51, 13)), ((54, 24), (58, 28))):
        p.drawLine(QPointF(*a), QPointF(*b))


def _grabcut(p: QPainter) -> None:
    p.setPen(_pen(INK, 3, Qt.PenStyle.DashLine))
    p.drawRect(QRectF(8, 8, 48, 48))
    p.setBrush(ACCENT)
    p.setPen(_pen(ACCENT, 2))
    p.drawEllipse(QRectF(18, 20, 28, 26))


def _watershed(p: QPainter) -> None:
    p.setPen(_pen(ACCENT, 5))
    path = QPainterPath(QPointF(12, 22))
    path.cubicTo(20, 12, 28, 32, 36, 20)
    p.drawPath(path)
    p.setPen(_pen(INK, 5))
    path = QPainterPath(QPointF(24, 50))
    path.cubicTo(34, 40, 42, 58, 54, 44)
    p.drawPath(path)


def _superpixel(p: QPainter) -> None:
    p.setPen(_pen(INK, 3))
    p.drawPolyline(_poly((8, 26), (24, 22), (34, 8)))
    p.drawPolyline(_poly((24, 22), (30, 42), (8, 46)))
    p.drawPolyline(_poly((30, 42), (56, 36)))
    p.drawPolyline(_poly((30, 42), (36, 58)))
    p.setBrush(QColor(90, 170, 255, 150))
    p.setPen(_pen(ACCENT, 3))
    p.drawPolygon(_poly((24, 22), (34, 8), (56, 12), (56, 36), (30, 42)))


def _accept(p: QPainter) -> None:
    p.setBrush(QColor(90, 170, 255, 90))
    p.setPen(_pen(ACCENT, 3))
    p.drawEllipse(QRectF(6, 10, 40, 36))
    p.setPen(_pen(QColor(110, 220, 120), 6))
    p.drawPolyline(_poly((26, 40), (36, 52), (58, 22)))


def _eyedropper(p: QPainter) -> None:
    p.drawLine(QPointF(12, 52), QPointF(38, 26))
    p.setBrush(INK)
    p.drawPolygon(_poly((34, 22), (46, 10), (54, 18), (42, 30)))


def _select(p: QPainter) -> None:
    p.setBrush(INK)
    p.setPen(_pen(INK, 2))
    p.drawPolygon(_poly((16, 8), (16, 48), (26, 38), (34, 56), (40, 53), (32, 36), (46, 36)))


def _merge(p: QPainter) -> None:
    p.drawEllipse(QRectF(6, 16, 30, 30))
    p.drawEllipse(QRectF(28, 16, 30, 30))
    p.setPen(_pen(ACCENT, 5))
    p.drawLine(QPointF(32, 22), QPointF(32, 40))


def _split(p: QPainter) -> None:
    p.drawEllipse(QRectF(10, 12, 44, 40))
    p.setPen(_pen(RED, 4, Qt.PenStyle.DashLine))
    p.drawLine(QPointF(40, 4), QPointF(24, 60))


def _delete(p: QPainter) -> None:
    p.drawEllipse(QRectF(8, 10, 36, 36))
    p.setPen(_pen(RED, 6))
    p.drawLine(QPointF(36, 36), QPointF(56, 56))
    p.drawLine(QPointF(56, 36), QPointF(36, 56))


def _new_instance(p: QPainter) -> None:
    p.drawEllipse(QRectF(6, 14, 34, 34))
    p.setPen(_pen(ACCENT, 6))
    p.drawLine(QPointF(48, 28), QPointF(48, 56))
    p.drawLine(QPointF(34, 42), QPointF(62, 42))


def _size(p: QPainter, sign: str) -> None:
    font = QFont()
    font.setPixelSize(40)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 0, SIZE, SIZE), Qt.AlignmentFlag.AlignCenter, sign)


PAINTERS: dict[str, Callable[[QPainter], None]] = {
    "brush": _brush,
    "eraser": _eraser,
    "polygon": _polygon,
    "lasso": _lasso,
    "rectangle": _rectangle,
    "fill": _fill,
    "wand": _wand,
    "grabcut": _grabcut,
    "watershed": _watershed,
    "superpixel": _superpixel,
    "accept": _accept,
    "eyedropper": _eyedropper,
    "select": _select,
    "merge": _merge,
    "split": _split,
    "delete": _delete,
    "new_instance": _new_instance,
    "smaller": lambda p: _size(p, "["),
    "larger": lambda p: _size(p, "]"),
}


@cache
def tool_icon(name: str) -> QIcon:
    """The icon of tool ``name`` (a key of :data:`PAINTERS`)."""
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(_pen())
    PAINTERS[name](painter)
    painter.end()
    return QIcon(pixmap)
