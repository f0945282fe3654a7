"""What the app has open: the image, its labels, the model, the prediction.

:class:`Session` is the one object app features ask for "the current
image / labels / model / project" (``context.session``), and listen to for changes.
Loading happens in a worker thread through :func:`load_document`; the
session only holds results.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.canvas.render import Display, default_display
from app.prediction_map import PredictionMap
from app.prediction_volume import PredictionVolume
from segcore.io.source import ImageSource
from segcore.labels.reader import LabelReader
from segcore.labels.schema import ClassInfo
from segcore.models.meta import ModelMeta

THUMBNAIL_SIZE = 1024
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "resources" / "sample"
SAMPLE_IMAGE = SAMPLE_DIR / "nuclei.tif"
SAMPLE_MODEL = SAMPLE_DIR / "nuclei_small_unet.safetensors"


@dataclass
class ImageDocument:
    """An open image with what was computed for it on load."""

    source: ImageSource
    thumbnail: np.ndarray  # (h, w, bands), longer side <= THUMBNAIL_SIZE
    display: Display
    path: Path | None = None
    labels: LabelReader | None = None
    classes: tuple[ClassInfo, ...] = ()
    # Hold while writing labels that overlays may be reading in tile threads.
    labels_lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else self.source.path.name

    @property
    def size(self) -> tuple[int, int]:
        return self.source.width, self.source.height


def document_for(
    source: ImageSource,
    *,
    path: Path | None = None,
    labels: LabelReader | None = None,
    classes: tuple[ClassInfo, ...] = (),
) -> ImageDocument:
    """Thumbnail and first display settings of ``source`` (slow for big files: run in a worker).

    A volume opens on its middle slice (the window's slider), so both come from that
    slice: the first slice of a CT or MR is mostly air and would stretch the rest to white.
    """
    from segcore.io.plane import PlaneSource

    depth = getattr(source, "depth", 1)
    shown = PlaneSource(source, depth // 2) if depth > 1 else source
    thumb = shown.thumbnail(THUMBNAIL_SIZE)
    if thumb.ndim == 2:
        thumb = thumb[..., None]
    display = default_display(
        thumb, dtype=source.dtype, nodata=source.nodata, metadata=source.metadata
    )
    return ImageDocument(source, thumb, display, path, labels, classes)


def load_document(path: str | Path) -> ImageDocument:
    """Open ``path`` with segcore's readers. Raises SourceError with a clear message."""
    from segcore.io import open_image

    path = Path(path)
    source = open_image(path)
    try:
        return document_for(source, path=path)
    except BaseException:
        source.close()
        raise


def synthetic_document(size: int = 1024, *, seed: int = 3) -> ImageDocument:
    """A synthetic scene with its ground-truth labels (when no sample is bundled)."""
    from segcore.io.array import ArraySource
    from segcore.labels.adapters import ArrayLabels
    from segcore.synthetic import SCENE_CLASSES, SceneSpec, render_region

    spec = SceneSpec(seed=seed)
    image = np.zeros((size, size, 3), np.uint8)
    sem = np.zeros((size, size), np.uint8)
    inst = np.zeros((size, size), np.uint32)
    step = 256  # render_region costs window area x objects: small windows are much faster
    for y in range(0, size, step):
        for x in range(0, size, step):
            scene = render_region(spec, x, y, min(step, size - x), min(step, size - y))
            h, w = scene.semantic.shape
            image[y : y + h, x : x + w] = scene.image
            sem[y : y + h, x : x + w] = scene.semantic
            inst[y : y + h, x : x + w] = scene.instance
    source = ArraySource(image, name="synthetic scene")
    labels = ArrayLabels(sem, SCENE_CLASSES, inst)
    return document_for(source, labels=labels, classes=SCENE_CLASSES)


def close_prediction(prediction: object, doc: ImageDocument | None) -> None:
    """Delete a volume's scratch prediction (under the labels lock: no tile read then)."""
    if isinstance(prediction, PredictionVolume):
        if doc is None:
            prediction.close()
        else:
            with doc.labels_lock:
                prediction.close()


@dataclass(frozen=True)
class ModelHandle:
    """A model file chosen in the Model dock: its path and metadata (weights load on run)."""

    path: Path
    meta: ModelMeta


class Session(QObject):
    """The open document, model and prediction; signals when any of them changes."""

    document_changed = Signal(object)  # ImageDocument | None
    model_changed = Signal(object)  # ModelHandle | None
    labels_changed = Signal(object)  # (x, y, w, h) level-0 box, or None for everything
    prediction_changed = Signal(object)  # (x, y, w, h) box that received results, or None
    project_changed = Signal(object)  # segcore.project.Project | None (app.project.commands)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document: ImageDocument | None = None
        self.model: ModelHandle | None = None
        self.prediction: PredictionMap | PredictionVolume | None = None
        self.prediction_classes: tuple[ClassInfo, ...] = ()
        self.project: Any = None  # the open segcore Project, set by app.project.commands
        self.project_image: str | None = None  # its image on screen (the document), if any

    def set_document(self, doc: ImageDocument | None) -> None:
        old, prediction = self.document, self.prediction
        self.document, self.prediction = doc, None
        self.document_changed.emit(doc)  # a model run on the old image stops here
        close_prediction(prediction, old)
        if old is not None and old is not doc:
            old.source.close()

    def set_model(self, model: ModelHandle | None) -> None:
        self.model = model
        self.model_changed.emit(model)

    def new_prediction(self, classes: tuple[ClassInfo, ...]) -> PredictionMap:
        """Start an empty prediction layer the size of the image (replacing the last one)."""
        if self.document is None:
            raise RuntimeError("no image is open")
        w, h = self.document.size
        self.drop_prediction()
        self.prediction = PredictionMap(w, h, classes)
        self.prediction_classes = classes
        self.prediction_changed.emit(None)
        return self.prediction

    def prediction_volume(self, classes: tuple[ClassInfo, ...]) -> PredictionVolume:
        """The volume's prediction layer for a run with ``classes``: the current one if it
        has those classes (slices predicted before stay), else a new empty one."""
        doc = self.document
        if doc is None:
            raise RuntimeError("no image is open")
        pred = self.prediction
        if isinstance(pred, PredictionVolume) and pred.classes == classes:
            return pred
        self.drop_prediction()
        w, h = doc.size
        volume = PredictionVolume(w, h, doc.source.depth, classes)
        self.prediction, self.prediction_classes = volume, classes
        self.prediction_changed.emit(None)
        return volume

    def slice_predicted(self, z: int) -> None:
        """A volume run wrote slice ``z`` of the prediction (GUI thread): tell the canvas."""
        pred = self.prediction
        if isinstance(pred, PredictionVolume):
            pred.predicted.add(z)
            self.prediction_changed.emit((0, 0, pred.width, pred.height))

    def drop_prediction(self) -> None:
        """Forget the prediction; a volume's scratch folder is deleted."""
        pred, self.prediction = self.prediction, None
        close_prediction(pred, self.document)

    def add_prediction(
        self, x: int, y: int, classes: np.ndarray, confidence: np.ndarray | None
    ) -> None:
        """Store one finished tile of a model run (GUI thread) and tell the canvas."""
        if not isinstance(self.prediction, PredictionMap) or self.document is None:
            return
        with self.document.labels_lock:
            self.prediction.write(x, y, classes, confidence)
        h, w = classes.shape
        self.prediction_changed.emit((x, y, w, h))

    def close(self) -> None:
        self.set_document(None)

    def info(self) -> dict[str, Any]:
        doc = self.document
        return {
            "image": None if doc is None else str(doc.path or doc.name),
            "model": None if self.model is None else str(self.model.path),
        }
