"""The Training dock's part for the pixel classifier: live mode and saving a model file.

With the architecture ``pixel-classifier`` chosen, the dock's Train button
trains the forest on the project's labels (seconds) and saves it as an ONNX
model in the models folder, which then becomes the current model like any
other; the **Live update** box turns on :class:`app.live_mode.LiveMode`, which
retrains after each stroke and repaints the visible area. Choosing a network
architecture afterwards trains it from the same labels.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.live_mode import LiveMode
from app.training_job import DataSpec, gather
from app.worker import Worker
from segcore.jobs import Job

if TYPE_CHECKING:
    from app.context import AppContext
    from app.docks.model_dock import ModelDock
    from app.tools.context import AnnotationContext
    from segcore.pixelclass.train import PixelConfig, PixelResult


def pixel_training_job(config: PixelConfig, spec: DataSpec) -> Job[PixelResult]:
    """Train and save a pixel classifier on ``spec``'s labels (runs in a worker)."""
    from segcore.pixelclass.train import train_pixel_classifier

    data, close = gather(spec)
    try:
        return (yield from train_pixel_classifier(config, data=data))
    finally:
        close()


class PixelPanel(QWidget):
    """Live update box and status; :meth:`train` runs one saved training."""

    run_finished = Signal(object)  # PixelResult | None

    def __init__(
        self, context: AppContext, models: ModelDock, edits: AnnotationContext | None
    ) -> None:
        super().__init__()
        self.session, self.models = context.session, models
        self.live = LiveMode(context, edits)
        self.job = context.jobs.slot("train", returned=self._trained, finished=self._finished)
        self.result: PixelResult | None = None
        self._predict = False
        self._started = 0.0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.live_box = QCheckBox("Live update")
        self.live_box.setToolTip(
            "Retrain the pixel classifier after every stroke and predict the visible area"
        )
        self.live_box.toggled.connect(self._toggle_live)
        row.addWidget(self.live_box)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.live.status.connect(self.status.setText)
        self.live.active_changed.connect(self._live_changed)

    @property
    def is_running(self) -> bool:
        return self.job.running

    def _toggle_live(self, on: bool) -> None:
        if on and not self.live.active and not self.live.start():
            self.live_box.setChecked(False)
        elif not on:
            self.live.stop()

    def _live_changed(self, on: bool) -> None:
        if self.live_box.isChecked() != on:
            self.live_box.setChecked(on)
        if not on:
            self.status.setText("")

    def train(self, config: PixelConfig, spec: DataSpec, *, predict: bool) -> Worker | None:
        """Train and save in a worker; the file becomes the current model, and with
        ``predict`` the Model dock predicts the visible area with it."""
        self.result, self._predict, self._started = None, predict, time.monotonic()
        return self.job.start(lambda: pixel_training_job(config, spec))

    def _trained(self, result: PixelResult) -> None:
        self.result = result
        took = time.monotonic() - self._started
        pixels = sum(result.samples.values())
        self.status.setText(
            f"trained on {pixels} labelled pixels in {took:.1f} s · "
            f"{result.path.name if result.path else ''}"
            + "".join(f"\n{w}" for w in result.warnings)
        )
        if result.path is None or not self.models.open_model(result.path):
            return
        if self._predict and self.session.document is not None:
            self.models.run("view")

    def _finished(self) -> None:
        self.run_finished.emit(self.result)

    def shutdown(self, timeout: float = 30.0) -> None:
        self.live.stop(timeout)
        self.job.shutdown(timeout)
