"""Views of the store, the image and the prediction that worker edits can use safely.

Edits that run in a worker thread get these instead of the objects themselves:
tile threads read the same objects at the same time, and the image may be a
file handle that must not be used by two threads at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from segcore.errors import LabelError
from segcore.labels.box import Box

if TYPE_CHECKING:
    from app.canvas.view import CanvasView


class LockedStore:
    """A label store whose every read and write holds ``lock`` (edits run in a worker).

    Everything else is forwarded unchanged to the wrapped store.
    """

    def __init__(self, store: Any, lock: threading.RLock) -> None:
        self._store = store
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read(self, *args: Any, **kwargs: Any) -> np.ndarray:
        with self._lock:
            return self._store.read(*args, **kwargs)

    def read_box(self, *args: Any, **kwargs: Any) -> np.ndarray:
        with self._lock:
            return self._store.read_box(*args, **kwargs)

    def write(self, *args: Any, **kwargs: Any) -> Box:
        with self._lock:
            return self._store.write(*args, **kwargs)

    def update_overviews(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self._store.update_overviews(*args, **kwargs)

    def chunk_arrays(self, cy: int, cx: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            sem, inst = self._store.chunk_arrays(cy, cx)
            return sem.copy(), inst.copy()

    def next_instance_id(self) -> int:
        with self._lock:
            return int(self._store.next_instance_id())

    def plane(self, z: int) -> LockedStore:
        """Slice ``z`` of a label volume, through the same lock (volume edits)."""
        return LockedStore(self._store.plane(z), self._lock)


class LayerImage:
    """The open image as an ImageSource whose reads go through the canvas image layer.

    The layer serialises reads of sources that are not thread-safe (GDAL,
    OpenSlide), so a worker edit reading the image never races the tile threads.
    """

    def __init__(self, canvas: CanvasView) -> None:
        layer = canvas.image_layer
        if layer is None:
            raise LabelError("no image is open")
        self._layer = layer
        self._z = canvas.z if layer.has_depth else 0
        self.source = layer.source

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def read_region(
        self, level: int, x: int, y: int, w: int, h: int, *, z: int | None = None
    ) -> np.ndarray:
        return self._layer.read(level, x, y, w, h, self._z if z is None else z)


class PredictionImage:
    """The model's class map (band 0, 255 = none) as an ImageSource, for accept-prediction."""

    def __init__(self, prediction: Any, lock: threading.RLock) -> None:
        self._prediction = prediction
        self._lock = lock
        self.width, self.height = prediction.width, prediction.height
        self.path = Path("prediction")

    def read_region(self, level: int, x: int, y: int, w: int, h: int, **_: Any) -> np.ndarray:
        with self._lock:
            return np.asarray(self._prediction.read("semantic", x, y, w, h, level=level))
