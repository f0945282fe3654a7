"""Puts label export, import and the Metrics dock into the main window.

``MainWindow`` calls :func:`install` once; what it adds is reachable as
``window.io`` (an :class:`IoActions`): File > Export Labels... and
File > Import Labels... (before Quit), and the Metrics dock (View > Metrics,
also listed in View > Docks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction

from app.actions import make_action
from app.docks.metrics_dock import MetricsDock
from app.export_dialog import ExportDialog
from app.import_dialog import ImportDialog

if TYPE_CHECKING:
    from app.window import MainWindow


class IoActions(QObject):
    """The export and import dialogs (made on first use) and the Metrics dock."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.export_dialog: ExportDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.metrics_dock = MetricsDock(window.session, window.canvas.visible_box)
        self.actions: dict[str, QAction] = {}

    def show_export(self) -> ExportDialog:
        if self.export_dialog is None:
            self.export_dialog = ExportDialog(self.window)
        self.export_dialog.refresh_scope()
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def show_import(self) -> ImportDialog:
        if self.import_dialog is None:
            self.import_dialog = ImportDialog(self.window)
        self.import_dialog.show()
        self.import_dialog.raise_()
        return self.import_dialog

    def shutdown(self) -> None:
        """Cancel running exports, imports and comparisons and wait for them."""
        for dialog in (self.export_dialog, self.import_dialog):
            if dialog is not None:
                dialog.shutdown()
        self.metrics_dock.shutdown()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False


def install(window: MainWindow) -> IoActions:
    """Add File > Export / Import Labels... and the Metrics dock to ``window``."""
    io = IoActions(window)
    a = io.actions
    a["export_labels"] = make_action(
        window, "&Export Labels...", io.show_export, keys="Ctrl+E",
        tip="Write the labels as PNG, GeoTIFF, COCO, VOC, Cityscapes, GeoJSON...",
    )  # fmt: skip
    a["import_labels"] = make_action(
        window, "&Import Labels...", io.show_import, keys="Ctrl+Shift+I",
        tip="Read a labelled dataset (COCO, VOC, masks, polygons...) into the project",
    )  # fmt: skip
    file_menu = window.menus["file"]
    quit_action = window.actions_by_name.get("quit")
    before = quit_action if quit_action in file_menu.actions() else None
    file_menu.insertActions(before, [a["export_labels"], a["import_labels"]])  # type: ignore[arg-type]
    file_menu.insertSeparator(before)  # type: ignore[arg-type]
    window.add_dock(io.metrics_dock, Qt.DockWidgetArea.RightDockWidgetArea)
    io.metrics_dock.hide()  # shown from View > Metrics; a saved layout may show it again
    toggle = io.metrics_dock.toggleViewAction()
    toggle.setText("&Metrics")
    toggle.setToolTip("Show or hide the Metrics dock (prediction vs labels)")
    window.menus["view"].addAction(toggle)
    a["metrics_dock"] = toggle
    window.actions_by_name.update(a)
    window.installEventFilter(io)
    return io
