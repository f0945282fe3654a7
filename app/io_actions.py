"""Puts label export, import and the Metrics dock into the window.

The window calls :func:`install` once with its :class:`~app.context.AppContext`
and the annotation context (an export lets a running edit land first; an import
pauses the editor of the image on screen); what it adds is reachable as
``window.io`` (an :class:`IoActions`): File > Export Labels... and
File > Import Labels... (before Quit), and the Metrics dock (View > Metrics,
also listed in View > Docks). ``labels_imported(report)`` fires after an import.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction

from app.actions import make_action
from app.context import AppContext
from app.docks.metrics_dock import MetricsDock
from app.export_dialog import ExportDialog
from app.import_dialog import ImportDialog
from app.tools.context import AnnotationContext


class IoActions(QObject):
    """The export and import dialogs (made on first use) and the Metrics dock."""

    labels_imported = Signal(object)  # ImportReport

    def __init__(self, context: AppContext, editing: AnnotationContext) -> None:
        super().__init__(context.shell.widget)
        self.context, self.editing = context, editing
        self.export_dialog: ExportDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.metrics_dock = MetricsDock(context)
        self.actions: dict[str, QAction] = {}

    def show_export(self) -> ExportDialog:
        if self.export_dialog is None:
            self.export_dialog = ExportDialog(self.context, self.editing)
        self.export_dialog.refresh_scope()
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def show_import(self) -> ImportDialog:
        if self.import_dialog is None:
            self.import_dialog = ImportDialog(self.context, self.editing)
            self.import_dialog.imported.connect(self.labels_imported)
        self.import_dialog.show()
        self.import_dialog.raise_()
        return self.import_dialog


def install(context: AppContext, editing: AnnotationContext) -> IoActions:
    """Add File > Export / Import Labels... and the Metrics dock."""
    io = IoActions(context, editing)
    shell, window = context.shell, context.shell.widget
    a = io.actions
    a["export_labels"] = make_action(
        window, "&Export Labels...", io.show_export, keys="Ctrl+E",
        tip="Write the labels as PNG, GeoTIFF, COCO, VOC, Cityscapes, GeoJSON...",
    )  # fmt: skip
    a["import_labels"] = make_action(
        window, "&Import Labels...", io.show_import, keys="Ctrl+Shift+I",
        tip="Read a labelled dataset (COCO, VOC, masks, polygons...) into the project",
    )  # fmt: skip
    file_menu = shell.menus["file"]
    quit_action = shell.actions_by_name.get("quit")
    before = quit_action if quit_action in file_menu.actions() else None
    file_menu.insertActions(before, [a["export_labels"], a["import_labels"]])  # type: ignore[arg-type]
    file_menu.insertSeparator(before)  # type: ignore[arg-type]
    shell.add_dock(io.metrics_dock, Qt.DockWidgetArea.RightDockWidgetArea)
    io.metrics_dock.hide()  # shown from View > Metrics; a saved layout may show it again
    toggle = io.metrics_dock.toggleViewAction()
    toggle.setText("&Metrics")
    # Shown as a tab behind another dock, it would stay out of sight: raise it too.
    toggle.triggered.connect(lambda on: io.metrics_dock.raise_() if on else None)
    toggle.setToolTip("Show or hide the Metrics dock (prediction vs labels)")
    shell.menus["view"].addAction(toggle)
    a["metrics_dock"] = toggle
    shell.actions_by_name.update(a)
    return io
