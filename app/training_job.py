"""The jobs the Training dock starts, and what they read (no widgets).

:func:`training_job` wraps :func:`segcore.training.train`: it gathers the
training data in the worker thread (opening label stores and image files can
be slow), trains, and closes what it opened. :func:`ranking_job` ranks the
tiles of the open image by the current model file's uncertainty
(:func:`segcore.training.rank_uncertain_tiles`, through the inference engine).
Inputs are captured on the GUI thread as plain values (:class:`DataSpec`);
results come back through the worker's signals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segcore.errors import TrainingError
from segcore.jobs import Job
from segcore.labels.adapters import LabelView
from segcore.labels.reader import LabelReader
from segcore.labels.schema import ClassInfo

if TYPE_CHECKING:
    from app.session import ImageDocument
    from segcore.io.source import ImageSource
    from segcore.training.config import TrainConfig, TrainResult
    from segcore.training.data import TrainingData
    from segcore.training.uncertainty import Measure, UncertainTile

# Ranking scores every tile of the image at full resolution; past this many pixels
# it works on a coarser pyramid level (a few seconds instead of minutes on a CPU).
MAX_RANK_PIXELS = 16_000_000


@dataclass(frozen=True)
class DataSpec:
    """Where training reads labels: the open project, or the open document's labels."""

    project: Any = None  # segcore.project.Project
    document: ImageDocument | None = None
    classes: tuple[ClassInfo, ...] = ()


def document_labels(doc: ImageDocument) -> LabelReader:
    """The document's labels, read under its labels lock, with its class list."""
    if doc.labels is None:
        raise TrainingError(f"{doc.name} has no labels; paint some strokes first")
    return LabelView(doc.labels, classes=doc.classes, lock=doc.labels_lock)


def open_copy(doc: ImageDocument) -> tuple[ImageSource, bool]:
    """The document's image for a worker: a second handle on its file (True: close it).

    File readers are not all thread-safe and the canvas reads the document's own
    source in its tile threads; in-memory images (no file) are shared.
    """
    from segcore.io import open_image

    if doc.path is not None and doc.path.is_file():
        return open_image(doc.path), True
    return doc.source, False


def gather(spec: DataSpec) -> tuple[TrainingData, Callable[[], None]]:
    """The training data of ``spec`` and the function that closes what was opened."""
    from segcore.training.data import LabelledImage, TrainingData, data_from_project

    if spec.project is not None:
        data = data_from_project(spec.project, read_only=True)
        return data, data.close
    doc = spec.document
    if doc is None:
        raise TrainingError("open an image with labels, or a project, before training")
    reader = document_labels(doc)
    source, owned = open_copy(doc)
    item = LabelledImage(doc.name, source, reader)
    data = TrainingData((item,), spec.classes or None)
    return data, (source.close if owned else _nothing)


def _nothing() -> None:
    return None


def training_job(
    config: TrainConfig,
    spec: DataSpec,
    *,
    model: Path | None,
    stop: threading.Event,
) -> Job[TrainResult]:
    """Train (``model`` None) or fine-tune the model file ``model`` on ``spec``'s labels."""
    from segcore.training.loop import train

    data, close = gather(spec)
    try:
        return (yield from train(config, data=data, model=model, stop=stop))
    finally:
        close()


def rank_level(source: ImageSource) -> int:
    """Level 0, or the finest level with at most MAX_RANK_PIXELS pixels."""
    for level in range(len(source.level_downsamples)):
        w, h = source.level_size(level)
        if w * h <= MAX_RANK_PIXELS:
            return level
    return len(source.level_downsamples) - 1


def ranking_job(
    model_path: Path,
    doc: ImageDocument,
    *,
    tile: int,
    measure: Measure,
    top: int,
) -> Job[list[UncertainTile]]:
    """The ``top`` most uncertain tiles of the document's image under the model file."""
    from segcore.training.uncertainty import rank_uncertain_tiles

    reader = document_labels(doc) if doc.labels is not None else None
    source, owned = open_copy(doc)
    try:
        return (
            yield from rank_uncertain_tiles(
                model_path,
                source,
                tile=tile,
                measure=measure,
                level=rank_level(source),
                labels=reader,
                top=top,
            )
        )
    finally:
        if owned:
            source.close()
