"""Display controls of the image layer: bands, colour map, contrast stretch, gamma, window.

Stretches are computed from the thumbnail (percentiles per band), never from
the full image. The panel builds a new frozen :class:`Display` and hands it
to ``on_change``; the canvas re-renders cached tiles in its worker threads.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSlider,
    QWidget,
)

from app.canvas.render import COLORMAPS, WINDOW_PRESETS, Display, percentile_stretch

RGB, SINGLE = "RGB (3 bands)", "One band"


class DisplayPanel(QWidget):
    """Edits a :class:`Display` for an image with ``band_names`` and a ``thumbnail``."""

    def __init__(self, on_change: Callable[[Display], None], parent: QWidget | None = None):
        super().__init__(parent)
        self.on_change = on_change
        self.thumbnail = np.zeros((1, 1, 1), np.uint8)
        self.nodata: float | None = None
        self.file_window: tuple[float, float] | None = None
        self._updating = False
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.mode = QComboBox()
        self.mode.addItems([RGB, SINGLE])
        self.mode.setToolTip("Show three bands as red, green, blue, or one band with a colour map")
        self.band_boxes = [QComboBox() for _ in range(3)]
        bands_row = QHBoxLayout()
        for box, tip in zip(self.band_boxes, ("Red / single band", "Green", "Blue"), strict=True):
            box.setToolTip(tip)
            bands_row.addWidget(box)
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAPS))
        self.colormap.setToolTip("Colour map for a single band")
        self.low_pct = self._spin(0.0, 50.0, 2.0, "Lower percentile of the stretch (per band)")
        self.high_pct = self._spin(50.0, 100.0, 98.0, "Upper percentile of the stretch (per band)")
        stretch_row = QHBoxLayout()
        stretch_row.addWidget(self.low_pct)
        stretch_row.addWidget(self.high_pct)
        full = QPushButton("Full range")
        full.setToolTip("Stretch from the smallest to the largest value")
        full.clicked.connect(lambda: self._set_percentiles(0.0, 100.0))
        stretch_row.addWidget(full)
        self.gamma = QSlider(Qt.Orientation.Horizontal)
        self.gamma.setRange(20, 400)
        self.gamma.setValue(100)
        self.gamma.setToolTip("Gamma (1.0 in the middle): left darkens, right brightens mid-tones")
        self.window_preset = QComboBox()
        self.window_preset.setToolTip("Window / level presets (CT in Hounsfield units)")
        self.window_preset.addItem("Percentile stretch")
        self.window_preset.addItems(list(WINDOW_PRESETS))
        form.addRow("Mode", self.mode)
        form.addRow("Bands", bands_row)
        form.addRow("Colour map", self.colormap)
        form.addRow("Stretch %", stretch_row)
        form.addRow("Gamma", self.gamma)
        form.addRow("Window", self.window_preset)
        for signal in (
            self.mode.currentIndexChanged,
            self.colormap.currentIndexChanged,
            self.window_preset.currentIndexChanged,
            *(b.currentIndexChanged for b in self.band_boxes),
        ):
            signal.connect(self._changed)
        self.low_pct.valueChanged.connect(self._changed)
        self.high_pct.valueChanged.connect(self._changed)
        self.gamma.valueChanged.connect(self._changed)

    def _spin(self, lo: float, hi: float, value: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(lo, hi)
        spin.setDecimals(1)
        spin.setSingleStep(0.5)
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def _set_percentiles(self, lo: float, hi: float) -> None:
        self._updating = True
        self.low_pct.setValue(lo)
        self.high_pct.setValue(hi)
        self._updating = False
        self._changed()

    def load(
        self,
        display: Display,
        band_names: tuple[str, ...],
        thumbnail: np.ndarray,
        *,
        nodata: float | None = None,
        file_window: tuple[float, float] | None = None,
    ) -> None:
        """Show the controls for a newly opened image (no ``on_change`` call)."""
        self._updating = True
        self.thumbnail, self.nodata = thumbnail, nodata
        self.file_window = file_window
        names = list(band_names) or [f"band {i + 1}" for i in range(thumbnail.shape[2])]
        for box in self.band_boxes:
            box.clear()
            box.addItems(names)
        self.mode.setEnabled(len(names) >= 3)
        self.mode.setCurrentText(RGB if display.is_rgb else SINGLE)
        for box, band in zip(self.band_boxes, display.bands, strict=False):
            box.setCurrentIndex(band)
        self.colormap.setCurrentText(display.colormap)
        self.gamma.setValue(round(display.gamma * 100))
        full = all(lo == 0 for lo in display.low) and all(hi == 255 for hi in display.high)
        self.low_pct.setValue(0.0 if full else 2.0)
        self.high_pct.setValue(100.0 if full else 98.0)
        self.window_preset.clear()
        self.window_preset.addItem("Percentile stretch")
        if file_window is not None:
            self.window_preset.addItem("From file")
        self.window_preset.addItems(list(WINDOW_PRESETS))
        if file_window is not None:
            self.window_preset.setCurrentText("From file")
        self._sync_enabled()
        self._updating = False

    def _sync_enabled(self) -> None:
        rgb = self.mode.currentText() == RGB
        for box in self.band_boxes[1:]:
            box.setVisible(rgb)
        self.colormap.setEnabled(not rgb)
        percentile = self.window_preset.currentText() == "Percentile stretch"
        self.low_pct.setEnabled(percentile)
        self.high_pct.setEnabled(percentile)

    def current(self) -> Display:
        """The :class:`Display` the controls describe."""
        rgb = self.mode.currentText() == RGB and self.mode.isEnabled()
        boxes = self.band_boxes if rgb else self.band_boxes[:1]
        bands = tuple(max(b.currentIndex(), 0) for b in boxes)
        gamma = self.gamma.value() / 100.0
        colormap = self.colormap.currentText() or "gray"
        choice = self.window_preset.currentText()
        base = Display(bands, (0.0,) * len(bands), (1.0,) * len(bands), gamma, colormap)  # type: ignore[arg-type]
        if choice == "From file" and self.file_window is not None:
            return base.with_window(*self.file_window)
        if choice in WINDOW_PRESETS:
            return base.with_window(*WINDOW_PRESETS[choice])
        sample = self.thumbnail[::2, ::2] if self.thumbnail.size > 1 << 20 else self.thumbnail
        pct = (self.low_pct.value(), self.high_pct.value())
        low, high = percentile_stretch(sample, bands, percentiles=pct, nodata=self.nodata)
        return Display(bands, low, high, gamma, base.colormap)

    def _changed(self) -> None:
        if self._updating:
            return
        self._sync_enabled()
        self.on_change(self.current())
