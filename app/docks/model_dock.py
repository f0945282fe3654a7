"""Model dock: open a model, see its classes and bands, run it on part of the image.

The dock only gathers choices and shows progress. The run itself is a segcore
generator (:func:`app.model_job.model_job`) run in the dock's job slot;
each ``Progress`` it yields carries the finished tiles, which go to the
session's prediction layer and appear on the canvas as they arrive.

On a volume, "Run on" offers this slice, a range of slices or the whole
volume: :func:`app.model_job.volume_job` writes whole slices into the
session's prediction volume (:class:`app.prediction_volume.PredictionVolume`),
and each finished slice is redrawn when it is the one on screen.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import errors
from app.canvas.tools import RectTool
from app.docks import spin_box
from app.docks.classes_dock import swatch
from app.model_job import RunOptions, model_job, patches, volume_job
from app.session import ModelHandle
from segcore.engine.backend import cuda_possible
from segcore.errors import ModelError
from segcore.jobs import Eta, Progress
from segcore.models.files import read_meta

if TYPE_CHECKING:
    from app.context import AppContext

Scope = Literal["view", "rect", "image", "slice", "range", "volume"]
PLANE_SCOPES = (("Visible area", "view"), ("Drawn rectangle", "rect"), ("Whole image", "image"))
VOLUME_SCOPES = (("This slice", "slice"), ("Slice range...", "range"), ("Whole volume", "volume"))
MODEL_FILTER = "Models (*.safetensors *.onnx *.pth);;All files (*)"


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d} left" if seconds >= 60 else f"{seconds} s left"


class ModelDock(QDockWidget):
    """See the module docstring. ``run_finished(ok)`` fires when a run ends."""

    run_finished = Signal(bool)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.setObjectName("model_dock")
        self.session, self.canvas = context.session, context.canvas
        self.job = context.jobs.slot(
            "run the model",
            yielded=self._progress,
            returned=self._done,
            errored=self._failed,
            finished=self._finished,
        )
        self._eta: Eta | None = None
        self._started = 0.0
        self._error = False
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.name = QLabel("No model")
        self.name.setWordWrap(True)
        self.open_button = QPushButton("Open...")
        self.open_button.setToolTip("Open a model file (.safetensors, or .onnx with its sidecar)")
        self.open_button.clicked.connect(self.choose_model)
        top.addWidget(self.name, 1)
        top.addWidget(self.open_button)
        layout.addLayout(top)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.classes = QListWidget()
        self.classes.setMaximumHeight(110)
        self.classes.setToolTip("Classes the model predicts")
        layout.addWidget(self.classes)

        form = QFormLayout()
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu"])
        self.device.setToolTip("Where to run: auto picks CUDA when there is a GPU")
        self.tile = spin_box(64, 4096, 512, 32, "Tile size in pixels (input side)")
        self.halo = spin_box(0, 1024, 0, 8, "Context around each tile; 0 = the model's own")
        self.batch = spin_box(1, 64, 4, 1, "Tiles per batch")
        self.scope = QComboBox()
        self._set_scopes(PLANE_SCOPES)
        form.addRow("Device", self.device)
        form.addRow("Tile", self.tile)
        form.addRow("Halo", self.halo)
        form.addRow("Batch", self.batch)
        form.addRow("Run on", self.scope)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Segment the chosen area (Ctrl+R: the visible area)")
        self.run_button.clicked.connect(lambda: self.run(self.scope.currentData()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.eta = QLabel("")
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        layout.addStretch(1)
        self.setWidget(body)
        self._set_running(False)
        self._tiles = (0, 0)  # tiles done, of how many (the last progress of a run)
        self._slices: tuple[int, ...] = ()  # a volume run's slices; () for a 2-D run
        self._slices_done = 0
        self.session.document_changed.connect(self._document_changed)

    def _document_changed(self, doc: object) -> None:
        depth = getattr(getattr(doc, "source", None), "depth", 1)
        self._set_scopes(VOLUME_SCOPES if depth > 1 else PLANE_SCOPES)
        self._clear_progress()

    def _set_scopes(self, scopes: tuple[tuple[str, str], ...]) -> None:
        if [self.scope.itemData(i) for i in range(self.scope.count())] == [s for _, s in scopes]:
            return
        self.scope.clear()
        for text, scope in scopes:
            self.scope.addItem(text, scope)

    def _clear_progress(self) -> None:
        """Another image: the last run's "Done in" and its bar say nothing about it."""
        if not self.is_running:
            self.eta.setText("")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.resetFormat()

    # -- model ----------------------------------------------------------------

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Model", "", MODEL_FILTER)
        if path:
            self.open_model(path)

    def open_model(self, path: str | Path) -> bool:
        """Read the model's metadata (cheap, no weights) and show it. False on failure."""
        try:
            meta = read_meta(Path(path))
        except Exception as exc:
            errors.report(exc, context=f"open model {Path(path).name}")
            return False
        handle = ModelHandle(Path(path), meta)
        self.session.set_model(handle)
        # A long file name may wrap (after _ - .), so it never widens the dock area
        # (with the Training dock in it: a trained model's name made both jump).
        shown = re.sub(r"([_.-])", "\\1\u200b", handle.path.name)
        self.name.setText(f"<b>{html.escape(shown)}</b>")
        self.name.setToolTip(str(handle.path))
        bands = f"{meta.in_channels} band{'s' if meta.in_channels != 1 else ''}"
        rf = f", receptive field {meta.receptive_field}px" if meta.receptive_field else ""
        self.info.setText(f"{meta.arch} · input {bands} · tile {meta.tile_size}{rf}")
        self.classes.clear()
        for c in meta.classes:
            self.classes.addItem(QListWidgetItem(swatch(c.color), f"{c.id}  {c.name}"))
        self.tile.setValue(meta.tile_size)
        if self.device.count() == 2 and cuda_possible():
            self.device.addItem("cuda")
        self._set_running(False)
        return True

    # -- running --------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.job.running

    def options(self) -> RunOptions:
        return RunOptions(
            device=self.device.currentText(),
            tile=self.tile.value(),
            halo=self.halo.value() or None,
            batch=self.batch.value(),
        )

    def run(self, scope: Scope) -> None:
        """Run on the visible area, a rectangle to be drawn, or the whole image; on a
        volume on the slice on screen, a range of slices asked for, or every slice."""
        doc, model = self.session.document, self.session.model
        if self.is_running:
            return
        if doc is None or model is None:
            what = "an image" if doc is None else "a model (Model > Open Model)"
            errors.report(ModelError(f"open {what} first"), context="run the model")
            return
        if model.meta.in_channels != doc.source.band_count:
            errors.report(
                ModelError(
                    f"{model.path.name} expects {model.meta.in_channels} input band(s) but "
                    f"{doc.name} has {doc.source.band_count}; choose a model trained on images "
                    "like this one"
                ),
                context="run the model",
            )
            return
        depth, z = doc.source.depth, self.canvas.z
        if scope in ("slice", "range", "volume") and depth > 1:
            chosen: Sequence[int] | None = (z,)
            if scope == "volume":
                chosen = range(depth)
            elif scope == "range":
                chosen = ask_slices(self, depth, z)
            if chosen:
                self.run_slices(chosen)
            return
        if scope == "rect":
            self.eta.setText("Drag a rectangle on the image")
            self.canvas.set_tool(RectTool(self._rect_drawn))
            return
        w, h = doc.size
        box = self.canvas.visible_box() if scope == "view" else (0, 0, w, h)
        self.start(box)

    def _rect_drawn(self, box: tuple[int, int, int, int]) -> None:
        self.canvas.set_tool(None)
        self.start(box)

    def start(self, box: tuple[int, int, int, int]) -> None:
        """Run the current model on the level-0 ``box`` (x, y, w, h)."""
        doc, model = self.session.document, self.session.model
        if doc is None or model is None or box[2] <= 0 or box[3] <= 0 or self.is_running:
            return
        if doc.source.depth > 1:  # a volume: whole slices into the prediction volume
            self.run_slices((self.canvas.z,))
            return
        self.session.new_prediction(model.meta.classes)
        source, options = doc.source, self.options()
        self._slices, self._slice_note = (), ""
        self._begin()
        self.job.start(lambda: model_job(model.path, source, box, options))

    def run_slices(self, slices: Sequence[int]) -> None:
        """Run the current model on whole ``slices`` (0-based) of the open volume."""
        doc, model = self.session.document, self.session.model
        if doc is None or model is None or self.is_running or not slices:
            return
        try:
            volume = self.session.prediction_volume(model.meta.classes)
        except Exception as exc:  # the cache folder refused
            errors.report(exc, context="run the model")
            return
        source, options, lock = doc.source, self.options(), doc.labels_lock
        chosen = tuple(slices)
        self._slices, self._slices_done = chosen, 0
        first, last, depth = chosen[0] + 1, chosen[-1] + 1, source.depth
        what = f"slice {first}" if len(chosen) == 1 else f"slices {first}-{last}"
        self._slice_note = f" ({what} of {depth})"
        self._begin()
        self.job.start(lambda: volume_job(model.path, source, volume.store, chosen, options, lock))

    def _begin(self) -> None:
        self._eta, self._started, self._error = Eta(), time.monotonic(), False
        self._tiles = (0, 0)
        self.progress.setRange(0, 0)  # busy until the first tile (model loading)
        self.eta.setText("Loading the model...")
        self._set_running(True)

    def cancel(self) -> None:
        if self.is_running:
            self.job.cancel()
            self.eta.setText("Cancelling...")
        elif isinstance(self.canvas.tool, RectTool):
            self.canvas.set_tool(None)
            self.eta.setText("")

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel a run and wait for it (window closing, another image)."""
        self.job.shutdown(timeout)

    def _progress(self, step: Progress) -> None:
        if self._slices:
            if isinstance(step.payload, int):  # a slice is written
                self._slices_done += 1
                self.session.slice_predicted(step.payload)
        else:
            for x, y, labels, score in patches(step.payload):
                self.session.add_prediction(x, y, labels, score)
        if step.total > 0:
            self.progress.setRange(0, step.total)
            self.progress.setValue(step.done)
            self._tiles = (step.done, step.total)
        eta = self._eta.seconds_left(step.done, step.total) if self._eta else None
        self.eta.setText(" · ".join(t for t in (step.message, format_eta(eta)) if t))

    def _failed(self, exc: BaseException) -> None:
        self._error = True
        self.eta.setText("Failed")
        errors.report(exc, context="run the model")

    def _done(self, result: object) -> None:
        note = getattr(self, "_slice_note", "")
        self.eta.setText(f"Done in {time.monotonic() - self._started:.1f} s{note}")
        self.progress.setValue(self.progress.maximum())

    def _finished(self) -> None:
        cancelled = self.job.cancelled
        if cancelled and self._slices:
            done, total = self._slices_done, len(self._slices)
            self.eta.setText(f"Cancelled: {done} of {total} slices kept")
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
        elif cancelled:
            done, total = self._tiles
            if done > 0:  # the tiles drawn stay on screen, and the bar says how far it got
                self.eta.setText(f"Cancelled: {done} of {total} tiles kept")
                self.progress.setRange(0, total)
                self.progress.setValue(done)
            else:
                self.eta.setText("Cancelled before the first tile")
                self.progress.setRange(0, 1)
                self.progress.setValue(0)
        elif self._error:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        self._set_running(False)
        self.run_finished.emit(not cancelled and not self._error)

    def _set_running(self, running: bool) -> None:
        ready = self.session.model is not None
        self.run_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.open_button, self.device, self.tile, self.halo, self.batch):
            widget.setEnabled(not running)


def ask_slices(parent: QWidget | None, depth: int, z: int) -> tuple[int, ...] | None:
    """Ask for a range of slices, first and last as the slider numbers them (1-based).

    Returns the 0-based slices, or None when the dialog is cancelled.
    """
    dialog = QDialog(parent)
    dialog.setWindowTitle("Run on Slices")
    form = QFormLayout(dialog)
    first = spin_box(1, depth, z + 1, 1, "First slice to segment")
    last = spin_box(1, depth, min(z + 10, depth), 1, "Last slice to segment (included)")
    form.addRow("From slice", first)
    form.addRow("To slice", last)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    a, b = sorted((first.value(), last.value()))
    return tuple(range(a - 1, b))
