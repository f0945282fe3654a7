"""The prediction of a volume: one class map per slice, in a scratch label volume.

A model run over slices of a volume (:func:`segcore.engine.volume.infer_volume`)
writes each slice's class map into :attr:`PredictionVolume.store`, a
:class:`~segcore.labels.store.LabelStore` with depth in the cache folder
(``predictions/``), so memory stays a few chunks whatever the volume's size.
The canvas's Prediction overlay reads ``plane(z)`` of the slice on screen; a
slice not predicted yet is all UNLABELLED, which shows nothing. The folder is
deleted by :meth:`close` (another run's classes, another image, Clear Prediction).
As a 2-D label reader (the Metrics dock) it is the slice :attr:`shown`, which
the window keeps on the slice on screen.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from segcore.cache import cache_dir
from segcore.labels.reader import Layer
from segcore.labels.schema import ClassInfo
from segcore.labels.store import LabelStore


class PredictionVolume:
    """A label volume of predictions the size and depth of an image, in the cache."""

    def __init__(self, width: int, height: int, depth: int, classes: Sequence[ClassInfo]) -> None:
        parent = cache_dir("predictions")
        parent.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="volume-", dir=parent))
        try:
            self.store = LabelStore.create(
                self.root / "prediction.zarr", width=width, height=height, depth=depth
            )
        except Exception:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self.classes = tuple(classes)
        self.store.classes = self.classes
        self.width, self.height, self.depth = width, height, depth
        self.predicted: set[int] = set()  # slices a run has written
        self.shown = 0  # the slice read as a 2-D map

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self.store.level_downsamples

    def level_size(self, level: int) -> tuple[int, int]:
        return self.store.level_size(level)

    def plane(self, z: int) -> LabelStore:
        """Slice ``z`` as a 2-D label reader (``semantic`` and ``instance``)."""
        return self.store.plane(z)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> np.ndarray:
        """Window of slice :attr:`shown` (see the module docstring)."""
        return self.store.plane(self.shown).read(layer, x, y, w, h, level=level)

    def close(self) -> None:
        """Close the store and delete its folder (a scratch copy: nothing is lost)."""
        self.store.close()
        shutil.rmtree(self.root, ignore_errors=True)
