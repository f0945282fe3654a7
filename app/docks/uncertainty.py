"""Where to correct next: the current model's most uncertain tiles, one click away.

The panel ranks the open image's tiles by the model's uncertainty (entropy or
margin of its softmax, :func:`segcore.training.rank_uncertain_tiles`, run in a
worker through :func:`app.training_job.ranking_job`); already labelled pixels
do not count. Next / Previous (or a click on a row) fly the view to a tile, a
little wider than the tile so its surroundings show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import errors
from app.training_job import ranking_job
from app.worker import Worker
from segcore.errors import TrainingError
from segcore.jobs import Progress

if TYPE_CHECKING:
    from app.context import AppContext
    from segcore.training.uncertainty import Measure, UncertainTile

TOP_TILES = 50
CONTEXT = 0.25  # the view shows this fraction of the tile's side around it


class UncertaintyPanel(QWidget):
    """Rank tiles by uncertainty; step through them. ``ranked`` fires with the list."""

    ranked = Signal(object)  # list[UncertainTile]

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.session, self.canvas = context.session, context.canvas
        self.tiles: list[UncertainTile] = []
        self.index = -1
        self._ranking: object = None  # the document being ranked
        self.job = context.jobs.slot(
            "rank tiles", yielded=self._progress, returned=self._ranked, finished=self._refresh
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.measure = QComboBox()
        self.measure.addItem("Entropy", "entropy")
        self.measure.addItem("Margin", "margin")
        self.measure.setToolTip(
            "Entropy: all classes about equally likely. Margin: the two best classes close."
        )
        self.tile = QSpinBox()
        self.tile.setRange(16, 2048)
        self.tile.setSingleStep(16)
        self.tile.setValue(256)
        self.tile.setToolTip("Side of a ranked tile, in pixels")
        self.rank_button = QToolButton()
        self.rank_button.setText("Rank")
        self.rank_button.setToolTip("Score every tile of the image with the current model")
        self.rank_button.clicked.connect(self.rank)
        row.addWidget(self.measure, 1)
        row.addWidget(self.tile)
        layout.addLayout(row)
        self.list = QListWidget()
        self.list.setMaximumHeight(120)
        self.list.currentRowChanged.connect(self._row_chosen)
        layout.addWidget(self.list)
        steps = QHBoxLayout()
        self.prev_button = QToolButton()
        self.prev_button.setText("Previous")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QToolButton()
        self.next_button.setText("Next")
        self.next_button.setToolTip("Fly to the next most uncertain tile")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.where = QLabel("")
        self.where.setWordWrap(True)
        steps.addWidget(self.rank_button)
        steps.addStretch(1)
        steps.addWidget(self.prev_button)
        steps.addWidget(self.next_button)
        layout.addLayout(steps)
        layout.addWidget(self.where)
        self.session.document_changed.connect(lambda _doc: self.set_tiles([]))
        self._refresh()

    @property
    def is_running(self) -> bool:
        return self.job.running

    def rank(self) -> Worker | None:
        """Score the open image's tiles with the current model (in a worker)."""
        doc, model = self.session.document, self.session.model
        if self.is_running:
            return None
        if doc is None or model is None:
            what = "an image" if doc is None else "a model (train one, or Model > Open Model)"
            errors.report(TrainingError(f"open {what} first"), context="rank tiles")
            return None
        path, tile = model.path, self.tile.value()
        measure: Measure = "margin" if self.measure.currentData() == "margin" else "entropy"
        self._ranking = doc
        self.where.setText("Ranking...")
        worker = self.job.start(
            lambda: ranking_job(path, doc, tile=tile, measure=measure, top=TOP_TILES)
        )
        self._refresh()
        return worker

    def set_tiles(self, tiles: list[UncertainTile]) -> None:
        """Show a ranked list (most uncertain first); nothing is selected yet."""
        self.tiles, self.index = list(tiles), -1
        self.list.blockSignals(True)
        self.list.clear()
        for i, t in enumerate(self.tiles):
            self.list.addItem(f"{i + 1}.  x {t.x}, y {t.y}  ·  {t.score:.2f}")
        self.list.blockSignals(False)
        self.where.setText(f"{len(self.tiles)} tiles" if self.tiles else "")
        self._refresh()
        self.ranked.emit(self.tiles)

    def _ranked(self, tiles: list[UncertainTile]) -> None:
        if self.session.document is self._ranking:  # not an image closed while it was ranked
            self.set_tiles(tiles)

    def step(self, delta: int) -> None:
        """Fly to the next (1) or previous (-1) tile of the ranking."""
        if not self.tiles:
            return
        self.go(min(max(self.index + delta, 0), len(self.tiles) - 1))

    def go(self, index: int) -> None:
        """Show tile ``index`` of the ranking on the canvas."""
        if not 0 <= index < len(self.tiles):
            return
        self.index = index
        t = self.tiles[index]
        pad_x, pad_y = t.w * CONTEXT, t.h * CONTEXT
        self.canvas.show_rect(t.x - pad_x, t.y - pad_y, t.w + 2 * pad_x, t.h + 2 * pad_y)
        self.list.blockSignals(True)
        self.list.setCurrentRow(index)
        self.list.blockSignals(False)
        self.where.setText(f"{index + 1} / {len(self.tiles)}  ·  uncertainty {t.score:.2f}")
        self._refresh()

    def _row_chosen(self, row: int) -> None:
        if row >= 0:
            self.go(row)

    def _progress(self, step: Progress) -> None:
        if step.total:
            self.where.setText(f"Ranking... {step.done} / {step.total}")

    def _refresh(self) -> None:
        running = self.is_running
        self.rank_button.setEnabled(not running)
        self.prev_button.setEnabled(not running and self.index > 0)
        self.next_button.setEnabled(not running and self.index < len(self.tiles) - 1)

    def shutdown(self, timeout: float = 30.0) -> None:
        self.job.shutdown(timeout)
