"""Help dialogs: About and Keyboard Shortcuts."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import app

# Keys the canvas handles itself (not menu actions).
CANVAS_KEYS: tuple[tuple[str, str], ...] = (
    ("Mouse wheel", "Zoom at the cursor"),
    ("Pinch", "Zoom (trackpad, touch screen)"),
    ("+ / -", "Zoom in / out"),
    ("Drag", "Pan (with the pan tool)"),
    ("Space + drag, middle drag", "Pan with any tool"),
    ("Arrow keys (Shift: faster)", "Pan"),
    ("1 - 9", "Pick the current class"),
)


def about_text() -> str:
    return (
        f"<h3>Tessera {app.__version__}</h3>"
        "<p>Segment and annotate huge images: GeoTIFF, whole-slide, DICOM, NIfTI.</p>"
        "<p>Tiled, pyramid-aware viewing; semantic, instance and panoptic overlays; "
        "models run tile by tile off the GUI thread.</p>"
        "<p>BSD-3-Clause licence. The bundled sample and its attribution are in "
        "<code>resources/sample/</code>.</p>"
    )


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(parent, "About Tessera", about_text())


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(keys, what) for every action with a shortcut, then the canvas keys."""
    rows = []
    for action in actions:
        keys = ", ".join(s.toString() for s in action.shortcuts() if not s.isEmpty())
        if keys:
            rows.append((keys, action.text().replace("&", "").rstrip(".")))
    return rows + list(CANVAS_KEYS)


class ShortcutsDialog(QDialog):
    """A table of every keyboard shortcut."""

    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(480, 520)
        rows = shortcut_rows(actions)
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        for i, (keys, what) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(keys))
            table.setItem(i, 1, QTableWidgetItem(what))
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
