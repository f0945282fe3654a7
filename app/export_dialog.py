"""File > Export Labels...: choose a format and a folder, watch progress, cancel.

The export itself is :func:`segcore.formats.exporter.export`, run in the
dialog's job slot. Cancel closes the job, which deletes every file
it had written (outputs appear under their names only when all are done).
Label reads hold the document's labels lock, so painting while an export runs
is safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import errors
from app.worker import Worker
from segcore.formats.base import ExportItem
from segcore.labels.adapters import LabelView

if TYPE_CHECKING:
    from app.context import AppContext
    from app.session import Session
    from app.tools.context import AnnotationContext

CURRENT, PROJECT = "Current image", "All project images"


def items_job(session: Session, scope: str) -> Callable[[], list[ExportItem]]:
    """Capture what to export now (GUI thread); the returned function builds the items."""
    project, doc = session.project, session.document
    lock = doc.labels_lock if doc is not None else threading.RLock()
    if scope == PROJECT or (project is not None and session.project_image is not None):
        if project is None:
            raise ValueError("no project is open")
        image_id = session.project_image
        ids = None if scope == PROJECT or image_id is None else [image_id]

        def from_project() -> list[ExportItem]:
            from segcore.formats.project_io import project_items

            items = project_items(project, ids)
            return [replace(i, labels=LabelView(i.labels, lock=lock)) for i in items]

        return from_project
    if doc is None or doc.labels is None:
        raise ValueError("the image on screen has no labels")
    w, h = doc.size
    meta = doc.source.metadata
    stem = Path(doc.name).stem
    classes = list(doc.classes)
    item = ExportItem(
        stem,
        LabelView(doc.labels, classes=classes, lock=lock),
        image_file=doc.path.name if doc.path is not None else "",
        crs=meta.crs,
        transform=tuple(meta.transform) if meta.transform is not None else None,  # type: ignore[arg-type]
    )
    return lambda: [item]


def inputs_of(session: Session) -> list[Path]:
    """The files an export must never write over: the image on screen, the project's."""
    from segcore.formats.project_io import project_inputs

    doc, project = session.document, session.project
    found = [doc.path] if doc is not None and doc.path is not None else []
    return found + (project_inputs(project) if project is not None else [])


class ExportDialog(QDialog):
    """Format, scope and folder; Export runs the job, Cancel stops it and removes its files."""

    def __init__(self, context: AppContext, editing: AnnotationContext) -> None:
        super().__init__(context.shell.widget)
        from segcore.formats.registry import list_formats

        self.context, self.editing = context, editing
        self.setWindowTitle("Export Labels")
        self.job = context.jobs.slot(
            "export the labels",
            yielded=self._progress,
            returned=self._done,
            errored=self._failed,
            finished=self._ended,
        )
        self.paths: list[Path] = []
        self.formats = list_formats()

        form = QFormLayout()
        self.format = QComboBox()
        for fmt in self.formats:
            self.format.addItem(f"{fmt.name} - {fmt.description}", fmt.name)
        self.scope = QComboBox()
        self.scope.addItems([CURRENT, PROJECT])
        self.folder = QLineEdit()
        browse = QPushButton("Browse...")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        folder_row = QWidget()
        folder_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.simplify = QDoubleSpinBox()
        self.simplify.setRange(0.0, 20.0)
        self.simplify.setSingleStep(0.5)
        self.simplify.setSuffix(" px")
        self.simplify.setToolTip("Polygon simplification tolerance (0 keeps every vertex)")
        form.addRow("Format", self.format)
        form.addRow("Images", self.scope)
        form.addRow("Folder", folder_row)
        form.addRow("Simplify polygons", self.simplify)
        self.overwrite = QCheckBox("Replace files an earlier export left in the folder")
        self.overwrite.setToolTip("The images and the project's own files are never replaced")
        form.addRow("", self.overwrite)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()
        self.refresh_scope()

    def refresh_scope(self) -> None:
        """Offer "All project images" only when a project is open."""
        has_project = self.context.session.project is not None
        self.scope.model().item(1).setEnabled(has_project)  # type: ignore[attr-defined]
        if not has_project:
            self.scope.setCurrentIndex(0)

    def _format_changed(self) -> None:
        fmt = self.formats[self.format.currentIndex()]
        self.simplify.setEnabled(fmt.fidelity == "outline" or fmt.kind == "vector")

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to Folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def choose(self, format_name: str, folder: Path, *, scope: str = CURRENT) -> None:
        """Set the fields (tests and scripts)."""
        self.format.setCurrentIndex(self.format.findData(format_name))
        self.folder.setText(str(folder))
        self.scope.setCurrentText(scope)

    @property
    def running(self) -> bool:
        return self.job.busy

    @property
    def cancelled(self) -> bool:
        return self.job.cancelled

    def start(self) -> Worker | None:
        """Start exporting with the chosen settings; None (with a message) if it cannot."""
        from segcore.formats.base import ExportOptions
        from segcore.formats.exporter import export

        if self.running:
            return None
        text = self.folder.text().strip()
        if not text:
            self.message.setText("Choose a folder to export to.")
            return None
        try:
            make_items = items_job(self.context.session, self.scope.currentText())
        except ValueError as exc:
            self.message.setText(f"Nothing to export: {exc}.")
            return None
        self.editing.finish_job()  # a running edit lands before the export reads
        name = str(self.format.currentData())
        out_dir = Path(text)
        options = ExportOptions(simplify=self.simplify.value())

        protected = inputs_of(self.context.session)
        overwrite = self.overwrite.isChecked()

        def job() -> Any:
            items = make_items()
            return (
                yield from export(
                    items, name, out_dir, options=options, protected=protected, overwrite=overwrite
                )
            )

        self.paths = []
        self.progress.setValue(0)
        self.message.setText(f"Exporting {name} to {out_dir}...")
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        return self.job.start(job)

    def cancel_or_close(self) -> None:
        if not self.running:
            self.close()
            return
        self.job.cancel()
        self.message.setText("Cancelling...")

    def shutdown(self) -> None:
        """Cancel a running export and wait for its files to be removed."""
        self.job.shutdown()

    def _progress(self, step: Any) -> None:
        self.progress.setValue(int(step.fraction * 1000))
        if step.message:
            self.message.setText(step.message)

    def _done(self, paths: list[Path]) -> None:
        self.paths = list(paths)
        self.progress.setValue(1000)
        folder = self.folder.text()
        self.message.setText(f"Wrote {len(self.paths)} file(s) to {folder}")
        self.context.say(f"Exported {len(self.paths)} file(s) to {folder}", 8000)

    def _failed(self, exc: BaseException) -> None:
        self.message.setText("The export failed; nothing was written.")
        errors.report(exc, context="export the labels")

    def _ended(self) -> None:
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        if self.cancelled:
            self.progress.setValue(0)
            self.message.setText("Cancelled; nothing was written.")
