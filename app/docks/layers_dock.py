"""Layers dock: every canvas layer with visibility, opacity and outline toggles.

Ticking a row shows or hides its layer; the controls below act on the selected
row: opacity, outlines (overlays), heat-map options (confidence), and the
image's display settings (bands, stretch, gamma, window) when the image row is
selected.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGroupBox,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.canvas.layers import TileLayer
from app.canvas.overlays import HeatOverlay
from app.canvas.render import COLORMAPS, Display
from app.canvas.view import CanvasView
from app.docks import scrolling
from app.docks.display_panel import DisplayPanel


class LayersDock(QDockWidget):
    """Lists ``canvas.layers`` top-most first; edits them in place and asks for a repaint."""

    def __init__(
        self,
        canvas: CanvasView,
        on_display: Callable[[Display], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Layers", parent)
        self.setObjectName("layers_dock")
        self.canvas = canvas
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setToolTip("Tick to show a layer; select it to change its settings")
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentRowChanged.connect(self._select)
        layout.addWidget(self.list, 1)

        self.settings = QGroupBox("Layer")
        form = QFormLayout(self.settings)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the selected layer")
        self.opacity.valueChanged.connect(self._opacity_changed)
        self.outlines = QCheckBox("Outlines")
        self.outlines.setToolTip("Draw region / instance boundaries")
        self.outlines.toggled.connect(self._outlines_changed)
        self.heat_mode = QComboBox()
        self.heat_mode.addItems(["Uncertainty", "Confidence"])
        self.heat_mode.currentIndexChanged.connect(self._heat_changed)
        self.heat_map = QComboBox()
        self.heat_map.addItems(list(COLORMAPS))
        self.heat_map.currentIndexChanged.connect(self._heat_changed)
        form.addRow("Opacity", self.opacity)
        form.addRow(self.outlines)
        form.addRow("Show", self.heat_mode)
        form.addRow("Colours", self.heat_map)
        self._heat_rows = (self.heat_mode, self.heat_map)
        layout.addWidget(self.settings)

        self.display_box = QGroupBox("Image display")
        box_layout = QVBoxLayout(self.display_box)
        self.display = DisplayPanel(on_display)
        box_layout.addWidget(self.display)
        layout.addWidget(self.display_box)
        self.setWidget(scrolling(body))
        self._syncing = False
        canvas.layers_changed.connect(self.refresh)
        self.refresh()

    # -- list -----------------------------------------------------------------

    def refresh(self) -> None:
        """Rebuild the list from the canvas's layers (after layers were added or removed)."""
        self._syncing = True
        selected = self.selected_layer()
        self.list.clear()
        for layer in reversed(self.canvas.layers):
            item = QListWidgetItem(layer.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, layer.id)
            item.setToolTip(f"{layer.kind} layer")
            self.list.addItem(item)
        self._syncing = False
        ids = [lay.id for lay in reversed(self.canvas.layers)]
        row = ids.index(selected.id) if selected is not None and selected.id in ids else 0
        self.list.setCurrentRow(row if ids else -1)
        self._select(self.list.currentRow())

    def selected_layer(self) -> TileLayer | None:
        item = self.list.currentItem()
        return None if item is None else self.canvas.layer(item.data(Qt.ItemDataRole.UserRole))

    def select(self, layer_id: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == layer_id:
                self.list.setCurrentRow(row)

    def set_visible(self, layer_id: str, visible: bool) -> None:
        """Tick or untick a layer (what a click on its check box does)."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == layer_id:
                item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing:
            return
        layer = self.canvas.layer(item.data(Qt.ItemDataRole.UserRole))
        if layer is not None:
            layer.visible = item.checkState() == Qt.CheckState.Checked
            self.canvas.restyle()

    # -- selected layer -------------------------------------------------------

    def _select(self, row: int) -> None:
        layer = self.selected_layer()
        self._syncing = True
        self.settings.setEnabled(layer is not None)
        if layer is not None:
            self.settings.setTitle(f"Layer: {layer.name}")
            self.opacity.setValue(round(layer.opacity * 100))
            self.outlines.setVisible(layer.kind not in ("image", "confidence"))
            self.outlines.setChecked(layer.outlines)
        heat = isinstance(layer, HeatOverlay)
        for widget in self._heat_rows:
            widget.setVisible(heat)
            label = self.settings.layout().labelForField(widget)  # type: ignore[union-attr]
            if label is not None:
                label.setVisible(heat)
        if isinstance(layer, HeatOverlay):
            self.heat_mode.setCurrentIndex(0 if layer.uncertainty else 1)
            self.heat_map.setCurrentText(layer.colormap)
        self.display_box.setVisible(layer is not None and layer.kind == "image")
        self._syncing = False

    def _opacity_changed(self, value: int) -> None:
        layer = self.selected_layer()
        if layer is not None and not self._syncing:
            layer.opacity = value / 100.0
            self.canvas.restyle()

    def _outlines_changed(self, on: bool) -> None:
        layer = self.selected_layer()
        if layer is not None and not self._syncing:
            layer.outlines = on
            self.canvas.restyle()

    def _heat_changed(self) -> None:
        layer = self.selected_layer()
        if isinstance(layer, HeatOverlay) and not self._syncing:
            layer.uncertainty = self.heat_mode.currentIndex() == 0
            layer.colormap = self.heat_map.currentText()
            self.canvas.restyle()
