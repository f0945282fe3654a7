"""Training dock: train a new model or fine-tune the current one on the labels so far.

The dock gathers choices (architecture and encoder, or fine-tuning; a budget
in epochs or minutes; tile, batch, device), saves the project so training sees
the last strokes, and runs :func:`app.training_job.training_job` in its job
slot. Every yielded ``Progress`` carries a
:class:`segcore.training.TrainMetrics`, which feeds the live chart. Stop ends
the run after the current step, keeping the best weights so far. When a run
ends the new model file becomes the current model (through the Model dock),
the visible area is predicted again, and "Where to correct next" ranks the
image's tiles by the new model's uncertainty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import errors
from app.docks import scrolling, spin_box
from app.docks.pixel_panel import PixelPanel
from app.docks.uncertainty import UncertaintyPanel
from app.training_chart import TrainingChart
from app.training_job import DataSpec, training_job
from app.worker import Worker
from segcore.errors import TrainingError
from segcore.jobs import Progress

if TYPE_CHECKING:
    from app.context import AppContext
    from app.docks.model_dock import ModelDock
    from app.tools.context import AnnotationContext
    from segcore.pixelclass.train import PixelResult
    from segcore.training.config import TrainConfig, TrainResult

DEFAULT_ARCH = "small_unet"
PIXEL_ARCH = "pixel-classifier"  # segcore.pixelclass.ARCH: a forest, trained and run apart
STOP_REASONS = {
    "completed": "done",
    "time": "time budget used",
    "early_stop": "stopped early (no progress)",
    "stopped": "stopped",
}


class TrainingDock(QDockWidget):
    """See the module docstring. ``run_finished(result or None)`` fires when a run ends."""

    run_finished = Signal(object)  # TrainResult | None

    def __init__(
        self,
        context: AppContext,
        models: ModelDock,
        *,
        save_project: Callable[[], bool] = lambda: True,
        edits: AnnotationContext | None = None,
    ) -> None:
        super().__init__("Training", context.shell.widget)
        self.setObjectName("training_dock")
        self.models, self.save_project = models, save_project
        self.session = context.session
        self.job = context.jobs.slot(
            "train",
            yielded=self._progress,
            returned=self._done,
            errored=self._failed,
            finished=self._finished,
        )
        self.pixel = PixelPanel(context, models, edits)
        self.pixel.run_finished.connect(self._pixel_finished)
        self.models_dir: Path | None = None  # where models go without a project
        self.result: TrainResult | None = None
        self._stop = threading.Event()
        self._started = 0.0
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._choices())
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Train")
        self.start_button.setToolTip("Save the project and train on its labels")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End after this step; the best model so far is kept")
        self.stop_button.clicked.connect(self.stop)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        # per-class IoU with labelled pixel counts, and warnings in plain words
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.summary)
        self.chart = TrainingChart()
        layout.addWidget(self.chart, 1)
        after = QHBoxLayout()
        self.predict_after = QCheckBox("Predict after")
        self.predict_after.setToolTip("Run the new model on the visible area when training ends")
        self.predict_after.setChecked(True)
        self.predict_button = QToolButton()
        self.predict_button.setText("Predict")
        self.predict_button.setToolTip("Run the current model on the visible area now")
        self.predict_button.clicked.connect(self.predict_view)
        after.addWidget(self.predict_after, 1)
        after.addWidget(self.predict_button)
        layout.addLayout(after)
        layout.addWidget(self.pixel)
        box = QGroupBox("Where to correct next")
        inner = QVBoxLayout(box)
        inner.setContentsMargins(4, 4, 4, 4)
        self.uncertainty = UncertaintyPanel(context)
        inner.addWidget(self.uncertainty)
        layout.addWidget(box)
        self.setWidget(scrolling(body))
        self.session.model_changed.connect(lambda _m: self._set_running(self.is_running))
        self.arch.currentIndexChanged.connect(lambda _i: self._set_running(self.is_running))
        self._set_running(False)

    def _choices(self) -> QFormLayout:
        from segcore.models import list_archs

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow docks stack
        self.new_radio = QRadioButton("New")
        self.new_radio.setToolTip("Train a new model of the chosen architecture")
        self.finetune_radio = QRadioButton("Fine-tune current")
        self.finetune_radio.setToolTip("Continue training the current model (new classes added)")
        self.new_radio.setChecked(True)
        self.mode = QButtonGroup(self)
        self.mode.addButton(self.new_radio)
        self.mode.addButton(self.finetune_radio)
        self.mode.buttonToggled.connect(lambda *_: self._set_running(self.is_running))
        modes = QHBoxLayout()
        modes.addWidget(self.new_radio)
        modes.addWidget(self.finetune_radio)
        self.arch = QComboBox()
        self.arch.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.arch.setMinimumContentsLength(8)
        self._entries = {e.name: e for e in list_archs()}
        for name, entry in self._entries.items():
            self.arch.addItem(name, name)
            self.arch.setItemData(self.arch.count() - 1, entry.description, 3)  # tooltip role
        self.encoder = QComboBox()
        self.encoder.setSizeAdjustPolicy(self.arch.sizeAdjustPolicy())
        self.encoder.setMinimumContentsLength(8)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self.arch.setCurrentIndex(max(self.arch.findData(DEFAULT_ARCH), 0))
        self._arch_changed()
        budget = QHBoxLayout()
        self.budget = QSpinBox()
        self.budget.setRange(1, 10_000)
        self.budget.setValue(20)
        self.unit = QComboBox()
        self.unit.addItems(["epochs", "minutes"])
        budget.addWidget(self.budget, 1)
        budget.addWidget(self.unit)
        self.tile = spin_box(16, 2048, 256, 16, "Training tile side in pixels")
        self.batch = spin_box(1, 256, 8, 1, "Tiles per training step")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu"])
        self.device.setToolTip("auto trains on the GPU when there is one")
        form.addRow(modes)
        form.addRow("Architecture", self.arch)
        form.addRow("Encoder", self.encoder)
        form.addRow("Budget", budget)
        form.addRow("Tile", self.tile)
        form.addRow("Batch", self.batch)
        form.addRow("Device", self.device)
        return form

    def _arch_changed(self) -> None:
        entry = self._entries.get(str(self.arch.currentData()))
        self.encoder.clear()
        if entry is None or not entry.encoders:
            self.encoder.addItem("(built in)", None)
            self.encoder.setEnabled(False)
            return
        for name in entry.encoders:
            self.encoder.addItem(name, name)
        if entry.default_encoder is not None and self.encoder.findData(entry.default_encoder) < 0:
            self.encoder.insertItem(0, entry.default_encoder, entry.default_encoder)
        self.encoder.setCurrentIndex(max(self.encoder.findData(entry.default_encoder), 0))
        self.encoder.setEnabled(not self.is_running)

    @property
    def pixel_chosen(self) -> bool:
        """The pixel classifier is chosen (a new model, not fine-tuning)."""
        return not self.fine_tune and self.arch.currentData() == PIXEL_ARCH

    # -- choices to a run ---------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.job.running or self.pixel.is_running

    @property
    def fine_tune(self) -> bool:
        return self.finetune_radio.isChecked()

    def config(self, output: Path) -> TrainConfig:
        """The TrainConfig the dock's choices describe, writing the model to ``output``."""
        from segcore.training.config import TrainConfig

        minutes = self.unit.currentText() == "minutes"
        encoder = self.encoder.currentData() if self.encoder.isEnabled() else None
        return TrainConfig(
            arch=str(self.arch.currentData()),
            encoder=None if encoder is None else str(encoder),
            epochs=None if minutes else self.budget.value(),
            minutes=float(self.budget.value()) if minutes else None,
            tile=self.tile.value(),
            batch=self.batch.value(),
            device=self.device.currentText(),
            output=output,
        )

    def output_path(self, arch: str, suffix: str = ".safetensors") -> Path:
        """A new model file in the project's models folder (or the app's data folder)."""
        project = self.session.project
        if project is not None:
            folder = Path(project.models_dir)
        elif self.models_dir is not None:
            folder = self.models_dir
        else:
            base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            folder = Path(base) / "models"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"{arch}-{stamp}{suffix}"
        n = 2
        while path.exists() or path.with_suffix(".json").exists():
            path, n = folder / f"{arch}-{stamp}-{n}{suffix}", n + 1
        return path

    def data_spec(self) -> DataSpec:
        """What to train on; TrainingError when there is nothing (checked before starting)."""
        project, doc = self.session.project, self.session.document
        if project is not None:
            if not any(e.labelled_fraction > 0 for e in project.images):
                raise TrainingError(
                    f"no image of the project {project.name} has labels yet; paint a few "
                    "strokes of each class, then train"
                )
            return DataSpec(project=project)
        if doc is None or doc.labels is None:
            raise TrainingError(
                "nothing to train on: open a project (File > Open Project) and label a few "
                "strokes of each class, or open an image that has labels"
            )
        return DataSpec(document=doc, classes=doc.classes)

    def base_model(self) -> Path | None:
        """The model file to fine-tune (None: a new model)."""
        if not self.fine_tune:
            return None
        model = self.session.model
        if model is None:
            raise TrainingError(
                "there is no current model to fine-tune; open one (Model > Open Model) or "
                "choose New"
            )
        if model.path.suffix.lower() != ".safetensors":
            raise TrainingError(
                f"{model.path.name} cannot be fine-tuned: only Tessera's .safetensors models "
                "can; choose New"
            )
        return model.path

    # -- running ------------------------------------------------------------------

    def start(self) -> Worker | None:
        """Save the project and start training; a dialog explains anything missing."""
        if self.is_running:
            return None
        if self.session.project is not None and not self.save_project():
            return None
        if self.pixel_chosen:
            return self._start_pixel()
        try:
            spec, base = self.data_spec(), self.base_model()
            model = self.session.model
            arch = model.meta.arch if base is not None and model else str(self.arch.currentData())
            config = self.config(self.output_path(arch))
            config.check()
        except (TrainingError, OSError) as exc:
            errors.report(exc, context="train")
            return None
        self._stop = threading.Event()
        stop = self._stop
        self.result = None
        self.summary.setText("")
        self.chart.clear()
        self.progress.setRange(0, 0)
        self.status.setText("Reading labels...")
        self._started = time.monotonic()
        worker = self.job.start(lambda: training_job(config, spec, model=base, stop=stop))
        self._set_running(True)
        return worker

    def forget_run(self) -> None:
        """Another project: the last run's curves and scores are not about it."""
        if self.is_running:
            return
        self.result = None
        self.chart.clear()
        self.summary.setText("")
        self.status.setText("")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)

    def _start_pixel(self) -> Worker | None:
        """Train the pixel classifier on the same labels and save it as an .onnx model."""
        from segcore.pixelclass.train import PixelConfig

        try:
            spec = self.data_spec()
            config = PixelConfig(output=self.output_path(PIXEL_ARCH, ".onnx"))
            config.check()
        except (TrainingError, OSError) as exc:
            errors.report(exc, context="train")
            return None
        self.progress.setRange(0, 0)
        self.status.setText("Training the pixel classifier...")
        self._set_running(True)
        return self.pixel.train(config, spec, predict=self.predict_after.isChecked())

    def _pixel_finished(self, result: PixelResult | None) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if result is not None else 0)
        self.status.setText("Pixel classifier saved" if result is not None else "Failed")
        self._set_running(False)
        if result is not None and self.session.model is not None and self.session.document:
            self.uncertainty.rank()  # an .onnx model ranks through the engine like any other
        self.run_finished.emit(result)

    def stop(self) -> None:
        """End after the current step with the best weights so far (the run still finishes)."""
        if self.is_running:
            self._stop.set()
            self.status.setText("Stopping after this step...")

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop at once and wait (window closing): the best model so far is already saved."""
        self.uncertainty.shutdown(timeout)
        self.pixel.shutdown(timeout)
        self.job.shutdown(timeout)

    def predict_view(self) -> None:
        """Run the current model on the visible area (the Model dock does the run)."""
        self.models.run("view")

    def _progress(self, step: Progress) -> None:
        m = step.payload
        if step.total > 0:
            self.progress.setRange(0, step.total)
            self.progress.setValue(min(step.done, step.total))
        if m is None:
            if step.message.startswith("warning:"):
                shown = self.summary.text()
                self.summary.setText(f"{shown}\n{step.message}" if shown else step.message)
            else:
                self.status.setText(step.message)
            return
        if m.phase == "train" and m.train_loss is not None:
            self.chart.add_loss(m.step / max(m.steps_per_epoch, 1), m.train_loss)
        elif m.phase == "val" and m.val_miou is not None:
            self.chart.add_miou(float(m.epoch), m.val_miou)
        best = f" · best mIoU {m.best_miou:.3f}" if m.best_miou is not None else ""
        self.status.setText(f"{step.message}{best}")

    def _done(self, result: TrainResult) -> None:
        from segcore.training.report import summary_lines

        self.result = result
        self.summary.setText("\n".join(summary_lines(result)[1:]))
        took = time.monotonic() - self._started
        why = STOP_REASONS.get(result.stopped, result.stopped)
        held = "" if result.held_out else " (on training regions: label more areas)"
        self.status.setText(
            f"{why} in {took:.0f} s · best validation mIoU {result.best_miou:.3f}{held} at epoch "
            f"{result.best_epoch} · {result.path.name if result.path else ''}"
        )
        if result.path is None or not self.models.open_model(result.path):
            return
        if self.predict_after.isChecked() and self.session.document is not None:
            self.predict_view()
        if self.session.document is not None:
            self.uncertainty.rank()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText("Failed")
        errors.report(exc, context="train")

    def _finished(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.result is not None else 0)
        if self.result is None and self.job.cancelled:
            self.status.setText("Cancelled")
        self._set_running(False)
        self.run_finished.emit(self.result)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        has_model = self.session.model is not None
        self.finetune_radio.setEnabled(not running and has_model)
        if not has_model and self.finetune_radio.isChecked():
            self.new_radio.setChecked(True)
        new = not self.fine_tune
        self.arch.setEnabled(not running and new)
        entry = self._entries.get(str(self.arch.currentData()))
        deep = not self.pixel_chosen  # the forest has no encoder, budget, tile, batch or device
        self.encoder.setEnabled(
            not running and new and deep and entry is not None and bool(entry.encoders)
        )
        self.new_radio.setEnabled(not running)
        for widget in (self.budget, self.unit, self.tile, self.batch, self.device):
            widget.setEnabled(not running and deep)
        self.chart.setVisible(deep)  # a forest has no epochs to chart
        self.pixel.live_box.setEnabled(self.pixel_chosen or self.pixel.live.active)
        self.predict_button.setEnabled(not running and has_model)
