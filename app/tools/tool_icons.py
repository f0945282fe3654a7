"""Icons of the annotation tools, drawn with QPainter (no image files to ship or license).

A tool's own icon is drawn by the ``icon`` function of its :class:`~app.tools.base.ToolSpec`,
beside the tool (with the pens and colours here); this module draws the tool bar's other
icons (new instance, brush size) and turns any painter into a cached ``QIcon``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap, QPolygonF

SIZE = 64
INK = QColor(225, 228, 232)
ACCENT = QColor(90, 170, 255)
WARM = QColor(255, 190, 60)
RED = QColor(235, 95, 85)


def icon_pen(
    color: QColor = INK, width: float = 5, style: Qt.PenStyle = Qt.PenStyle.SolidLine
) -> QPen:
    return QPen(color, width, style, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)


def icon_poly(*points: tuple[float, float]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points])


def _new_instance(p: QPainter) -> None:
    p.drawEllipse(QRectF(6, 14, 34, 34))
    p.setPen(icon_pen(ACCENT, 6))
    p.drawLine(QPointF(48, 28), QPointF(48, 56))
    p.drawLine(QPointF(34, 42), QPointF(62, 42))


def _size(p: QPainter, sign: str) -> None:
    font = QFont()
    font.setPixelSize(40)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 0, SIZE, SIZE), Qt.AlignmentFlag.AlignCenter, sign)


PAINTERS: dict[str, Callable[[QPainter], None]] = {  # the tool bar's icons that are not tools
    "new_instance": _new_instance,
    "smaller": lambda p: _size(p, "["),
    "larger": lambda p: _size(p, "]"),
}


def tool_icon(name: str) -> QIcon:
    """The icon called ``name`` (a key of :data:`PAINTERS`)."""
    return drawn_icon(PAINTERS[name])


@cache
def drawn_icon(draw: Callable[[QPainter], None]) -> QIcon:
    """The icon ``draw(painter)`` draws on a transparent 64 x 64 canvas, ink pen set."""
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(icon_pen())
    draw(painter)
    painter.end()
    return QIcon(pixmap)
