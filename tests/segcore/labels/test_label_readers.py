"""The one label-reader contract and its adapters: windows, fill, levels, errors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from segcore.errors import LabelError, TrainingError
from segcore.io.array import ArraySource
from segcore.labels.adapters import ArrayLabels, LabelView, SourceLabels
from segcore.labels.reader import LabelReader
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.labels.store import LabelStore

CLASSES = make_classes(["a", "b"])


def test_array_labels_fill_outside_and_copy() -> None:
    sem = np.array([[0, 1, 2], [3, 4, 5]], np.uint8)
    labels = ArrayLabels(sem, CLASSES)
    window = labels.read("semantic", 1, 1, 3, 2)
    assert window.tolist() == [[4, 5, UNLABELLED], [UNLABELLED] * 3]
    assert labels.read("instance", 0, 0, 2, 1).tolist() == [[0, 0]]  # no instance map
    inside = labels.read("semantic", 0, 0, 2, 2)
    inside[:] = 9  # a caller writing into what it read changes nothing
    assert labels.read("semantic", 0, 0, 1, 1)[0, 0] == 0
    assert isinstance(labels, LabelReader) and labels.classes == tuple(CLASSES)


def test_source_labels_name_the_file_and_fill_outside() -> None:
    mask = np.array([[0, 1], [300, 1]], np.uint16)[..., None]
    labels = SourceLabels(ArraySource(mask, name="m.tif"), where="masks/m.tif")
    assert labels.read("semantic", 1, 0, 2, 1).tolist() == [[1, UNLABELLED]]
    with pytest.raises(LabelError, match=r"masks/m.tif: class ids must lie in 0..254"):
        labels.read("semantic", 0, 0, 2, 2)
    strict = SourceLabels(
        ArraySource(np.zeros((2, 2, 1), np.float32)), integers_only=True, error=TrainingError
    )
    with pytest.raises(TrainingError, match="integer class ids"):
        strict.read("semantic", 0, 0, 2, 2)
    assert labels.level_downsamples == (1.0,) and labels.level_size(0) == (2, 2)


def test_label_view_holds_the_lock_and_renames_classes() -> None:
    lock = threading.RLock()
    seen: list[bool] = []

    class Spy(ArrayLabels):
        def read(self, layer, x, y, w, h, *, level=0):  # type: ignore[no-untyped-def]
            seen.append(lock._is_owned())  # type: ignore[attr-defined]
            return super().read(layer, x, y, w, h, level=level)

    other = make_classes(["x", "y", "z"])
    view = LabelView(Spy(np.zeros((4, 4), np.uint8), CLASSES), classes=other, lock=lock)
    view.read("semantic", 0, 0, 2, 2)
    assert seen == [True] and tuple(view.classes) == tuple(other)
    assert (view.width, view.height, view.level_size(0)) == (4, 4, (4, 4))


def test_the_store_is_a_reader_with_its_project_classes(tmp_path: Path) -> None:
    store = LabelStore.create(tmp_path / "s.zarr", width=8, height=6)
    try:
        assert isinstance(store, LabelReader) and store.classes == ()
        store.classes = tuple(CLASSES)
        store.write("semantic", 0, 0, np.ones((2, 2), np.uint8))
        assert store.read("semantic", -1, 0, 2, 1).tolist() == [[UNLABELLED, 1]]
    finally:
        store.close()
