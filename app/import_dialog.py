"""File > Import Labels...: read a dataset into the open project.

Two job steps with a question between them, all through
:mod:`segcore.formats`: ``import_labels`` reads and checks the files; if some
classes are not in the project by name, :class:`ClassMappingDialog` asks what
each becomes (a project class, or dropped); then ``import_job`` writes the
labels window by window (all or nothing: a failure, or closing the dialog's
job, leaves the project as it was). While it writes, the image on screen is
not editable; the labels lock is held for each window, so tile reads go on
between windows and the layers are read again at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
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
from segcore.labels.schema import ClassInfo

if TYPE_CHECKING:
    from app.context import AppContext
    from app.tools.context import AnnotationContext
    from segcore.formats.base import Imported
    from segcore.formats.project_io import ImportReport

DROP = "(drop these labels)"
LABEL_LAYERS = ("semantic", "instance", "panoptic")


class ClassMappingDialog(QDialog):
    """One row per imported class the project lacks: which project class it becomes."""

    def __init__(
        self, names: Sequence[str], classes: Sequence[ClassInfo], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Map Imported Classes")
        layout = QVBoxLayout(self)
        note = QLabel("These dataset classes are not in the project. Choose what each becomes:")
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        self.combos: dict[str, QComboBox] = {}
        targets = [c.name for c in classes]
        lowered = {t.lower(): t for t in targets}
        for name in names:
            combo = QComboBox()
            combo.addItems([*targets, DROP])
            # A case-only difference is probably the same class; otherwise drop by default.
            combo.setCurrentText(lowered.get(name.lower(), DROP))
            form.addRow(name, combo)
            self.combos[name] = combo
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choose(self, name: str, target: str | None) -> None:
        """Map ``name`` to project class ``target`` (None: drop)."""
        self.combos[name].setCurrentText(DROP if target is None else target)

    def mapping(self) -> dict[str, str | None]:
        return {
            name: None if combo.currentText() == DROP else combo.currentText()
            for name, combo in self.combos.items()
        }


class ImportDialog(QDialog):
    """Format, file or folder, merge or replace; Import reads, asks, then writes.

    ``imported(report)`` fires when labels were written into the project.
    """

    imported = Signal(object)  # ImportReport

    def __init__(self, context: AppContext, editing: AnnotationContext) -> None:
        super().__init__(context.shell.widget)
        from segcore.formats.registry import list_formats

        self.context, self.editing = context, editing
        self.setWindowTitle("Import Labels")
        self.job = context.jobs.slot(
            "import the labels",
            yielded=self._progress,
            returned=self._returned,
            errored=self._failed,
            finished=self._ended,
        )
        self._then: Any = None
        self.report: ImportReport | None = None
        self.formats = list_formats()
        self._paused: tuple[Any, Any] | None = None  # (image id, editor) detached while writing

        form = QFormLayout()
        self.format = QComboBox()
        for fmt in self.formats:
            self.format.addItem(f"{fmt.name} - {fmt.description}", fmt.name)
        self.path = QLineEdit()
        self.path.setPlaceholderText("dataset folder or file (COCO JSON, GeoJSON...)")
        file_button, folder_button = QPushButton("File..."), QPushButton("Folder...")
        file_button.clicked.connect(self.browse_file)
        folder_button.clicked.connect(self.browse_folder)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.path, file_button, folder_button):
            row.addWidget(w, 1 if w is self.path else 0)
        path_row = QWidget()
        path_row.setLayout(row)
        self.merge = QCheckBox("Keep my labels where the dataset has none")
        form.addRow("Format", self.format)
        form.addRow("Labels", path_row)
        form.addRow("", self.merge)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the readers report no progress
        self.progress.hide()
        self.message = QLabel("Images are matched by file name; classes by name.")
        self.message.setWordWrap(True)
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

    def browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels File", self.path.text())
        if path:
            self.path.setText(path)

    def browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Labels Folder", self.path.text())
        if path:
            self.path.setText(path)

    def choose(self, format_name: str, path: Path, *, merge: bool = False) -> None:
        """Set the fields (tests and scripts)."""
        self.format.setCurrentIndex(self.format.findData(format_name))
        self.path.setText(str(path))
        self.merge.setChecked(merge)

    @property
    def running(self) -> bool:
        return self.job.busy

    # -- step 1: read --------------------------------------------------------------

    def start(self) -> Worker | None:
        """Read and check the dataset in a worker; None (with a message) if it cannot start."""
        from segcore.formats.registry import import_labels

        if self.running:
            return None
        if self.context.session.project is None:
            self.message.setText("Open or create a project first (File > New Project...).")
            return None
        text = self.path.text().strip()
        if not text:
            self.message.setText("Choose the labels file or folder to import.")
            return None
        name, path = str(self.format.currentData()), Path(text)
        from segcore.formats.registry import get_format

        if get_format(name).kind == "volume":
            return self._start_volume(name, path)
        context = self._grid()
        self.report = None
        return self._run(lambda: import_labels(name, path, **context), self._read, "Reading...")

    def _start_volume(self, name: str, path: Path) -> Worker | None:
        """A NIfTI / DICOM-SEG label volume replaces the labels of the project image on
        screen (checked against its grid first; the editor is paused meanwhile)."""
        from segcore.formats.volume_import import import_volume

        project, image_id = self.context.session.project, self.context.session.project_image
        if project is None or image_id is None:
            self.message.setText("Open the project image this label volume belongs to first.")
            return None
        editing = self.editing
        if editing.editor is not None:
            self._paused = (editing.image_id, editing.editor)
            editing.detach()
        lock = editing.lock

        def job() -> Any:
            steps = import_volume(project, image_id, path, name)
            while True:  # the tiles on screen read the store between steps
                with lock:
                    try:
                        step = next(steps)
                    except StopIteration as stop:
                        return stop.value
                yield step

        def done(voxels: int) -> None:
            self.message.setText(f"Imported {voxels:,} labelled voxels into {image_id}")
            self.context.say(f"Imported the label volume {path.name}", 8000)

        return self._run(job, done, "Checking the label volume...")

    def _grid(self) -> dict[str, Any]:
        """The open image's grid, for formats that need one (vector polygons)."""
        from segcore.formats.vector import image_grid

        doc = self.context.session.document
        return {} if doc is None else image_grid(doc.source)

    # -- step 2: ask, then write ------------------------------------------------------

    def _read(self, imported: Imported) -> None:
        from segcore.formats.project_io import classes_to_map

        project = self.context.session.project
        if project is None:
            self.message.setText("The project was closed; nothing was imported.")
            return
        mapping: dict[str, str | None] = {}
        names = classes_to_map(imported, project.classes)
        if names:
            ask = ClassMappingDialog(names, project.classes, self)
            if ask.exec() != QDialog.DialogCode.Accepted:
                self.message.setText("Import cancelled; nothing was written.")
                return
            mapping = ask.mapping()
        self.write(imported, mapping)

    def write(self, imported: Imported, mapping: dict[str, str | None]) -> Worker | None:
        """Write ``imported`` into the project in a worker (the screen image is paused)."""
        from segcore.formats.project_io import import_job

        project = self.context.session.project
        if project is None:
            return None
        editing = self.editing
        if editing.editor is not None:
            self._paused = (editing.image_id, editing.editor)
            editing.detach()
        lock = editing.lock
        merge = self.merge.isChecked()

        def job() -> Any:
            return (
                yield from import_job(project, imported, mapping=mapping, merge=merge, lock=lock)
            )

        return self._run(job, self._written, "Writing labels...")

    def _written(self, report: ImportReport) -> None:
        self.report = report
        n = len(report.images)
        self.message.setText(
            f"Imported {n} image(s), {report.labelled_pixels:,} labelled pixels: "
            + ", ".join(sorted(report.images))
        )
        self.context.say(f"Imported labels of {n} image(s)", 8000)
        self.imported.emit(report)

    # -- plumbing ----------------------------------------------------------------------

    def _run(self, job: Any, then: Any, text: str) -> Worker | None:
        self._then = then
        self.message.setText(text)
        self.progress.show()
        self.import_button.setEnabled(False)
        # The write step starts from the read step's result: replace it (it has ended).
        return self.job.start(job, replace=True)

    def _returned(self, value: Any) -> None:
        self._then(value)

    def _progress(self, step: Any) -> None:
        if step.total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(step.fraction * 1000))

    def _failed(self, exc: BaseException) -> None:
        self.message.setText("Nothing was imported; the project is as it was.")
        errors.report(exc, context="import the labels")

    def _ended(self) -> None:
        self.progress.hide()
        self.progress.setRange(0, 0)
        self.import_button.setEnabled(True)
        self._resume()

    def _resume(self) -> None:
        """Re-attach the paused editor and re-read the labels on screen."""
        paused, self._paused = self._paused, None
        if paused is None:
            return
        image_id, editor = paused
        session = self.context.session
        doc = session.document
        if doc is None or session.project_image != image_id:
            return
        if doc.labels is editor.store.plane(0):  # a label volume's editor may be on slice z
            self.editing.attach(image_id, editor)
        w, h = doc.size
        for layer_id in LABEL_LAYERS:
            self.context.canvas.invalidate(layer_id, (0, 0, w, h))
        session.labels_changed.emit(None)

    def shutdown(self) -> None:
        """Cancel a running read or write (a write puts the old labels back) and wait."""
        self.job.shutdown()
