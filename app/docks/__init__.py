"""The dock widgets around the canvas, and small form helpers they share."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSpinBox, QWidget


def spin_box(lo: int, hi: int, value: int, step: int, tip: str) -> QSpinBox:
    """An integer spin box with its range, step, starting value and tooltip."""
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


def scrolling(body: QWidget) -> QScrollArea:
    """``body`` in a vertical scroll area: a tall dock then scrolls instead of making the
    window taller than the screen, and its text wraps to the dock's width instead of
    widening it."""
    area = QScrollArea()
    area.setWidget(body)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # As wide as the controls need (nothing is cut off); text wraps within that.
    area.setMinimumWidth(
        body.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width()
    )
    return area
