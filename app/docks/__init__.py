"""The dock widgets around the canvas, and small form helpers they share."""

from PySide6.QtWidgets import QSpinBox


def spin_box(lo: int, hi: int, value: int, step: int, tip: str) -> QSpinBox:
    """An integer spin box with its range, step, starting value and tooltip."""
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin
