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
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app import errors
from app.live_mode import LiveMode
from app.training_job import DataSpec, gather
from app.worker import Worker
from segcore.jobs import Job

if TYPE_CHECKING:
    from app.window import MainWindow
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

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.live = LiveMode(window)
        self.worker: Worker | None = None
        self.result: PixelResult | None = None
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
        return self.worker is not None and self.worker.is_running

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

    def train(self, config: PixelConfig, spec: DataSpec, *, predict: bool) -> Worker:
        """Train and save in a worker; the file becomes the current model, and with
        ``predict`` the Model dock predicts the visible area with it."""
        started = time.monotonic()
        self.result = None
        self.worker = Worker(lambda: pixel_training_job(config, spec))

        def finished(result: PixelResult) -> None:
            self.result = result
            took = time.monotonic() - started
            pixels = sum(result.samples.values())
            self.status.setText(
                f"trained on {pixels} labelled pixels in {took:.1f} s · "
                f"{result.path.name if result.path else ''}"
                + "".join(f"\n{w}" for w in result.warnings)
            )
            dock = self.window_.model_dock
            if result.path is None or not dock.open_model(result.path):
                return
            if predict and self.window_.session.document is not None:
                dock.run("view")

        self.worker.returned.connect(finished)
        self.worker.errored.connect(lambda exc: errors.report(exc, context="train"))
        self.worker.finished.connect(lambda: self.run_finished.emit(self.result))
        return self.worker.start()

    def shutdown(self, timeout: float = 30.0) -> None:
        self.live.stop(timeout)
        if self.worker is not None:
            self.worker.close()
            self.worker.wait(timeout)


def pixel_output(folder: Path, stamp: str) -> Path:
    """A new .onnx file name in ``folder`` (its .json sidecar goes beside it)."""
    path = folder / f"pixel-classifier-{stamp}.onnx"
    n = 2
    while path.exists() or path.with_suffix(".json").exists():
        path, n = folder / f"pixel-classifier-{stamp}-{n}.onnx", n + 1
    return path
