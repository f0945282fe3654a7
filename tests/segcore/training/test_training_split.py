"""Survey, label checks and the split by region."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from segcore.errors import TrainingError
from segcore.labels.box import Box
from segcore.labels.box import windows as grid
from segcore.labels.schema import UNLABELLED
from segcore.training.data import data_from_arrays
from segcore.training.split import (
    check_labels,
    dtype_scale,
    image_stats,
    resolve_classes,
    split_blocks,
    survey,
)


def _data(mask: np.ndarray, classes: list[str] | None = None):  # type: ignore[no-untyped-def]
    image = np.zeros((*mask.shape, 1), np.uint8)
    return data_from_arrays([image], [mask], classes=classes)


def test_grid_clips_edge_blocks() -> None:
    assert list(grid(5, 3, 4)) == [Box(0, 0, 4, 3), Box(4, 0, 1, 3)]


def test_survey_counts_labelled_blocks_only() -> None:
    mask = np.full((8, 8), UNLABELLED, np.uint8)
    mask[0, 0] = 0
    mask[0, 1] = 1
    mask[5, 6] = 1
    blocks = survey(_data(mask), block=4)
    assert [b.box for b in blocks] == [Box(0, 0, 4, 4), Box(4, 4, 4, 4)]
    assert blocks[0].counts[:2].tolist() == [1, 1] and blocks[0].labelled == 2
    assert blocks[1].counts[:2].tolist() == [0, 1]
    assert blocks[0].counts[UNLABELLED] == 0


def test_no_labels_refused() -> None:
    data = _data(np.full((8, 8), UNLABELLED, np.uint8), ["a", "b"])
    with pytest.raises(TrainingError, match="no labelled pixels"):
        check_labels(survey(data, block=4), data.classes or (), data)


def test_single_class_refused() -> None:
    mask = np.full((8, 8), UNLABELLED, np.uint8)
    mask[2:4, 2:4] = 1
    data = _data(mask, ["a", "b"])
    with pytest.raises(TrainingError, match=r"only one class is labelled \(b\)"):
        check_labels(survey(data, block=4), data.classes or (), data)


def test_unknown_class_id_refused() -> None:
    mask = np.zeros((8, 8), np.uint8)
    mask[0, 0] = 7
    data = _data(mask, ["a", "b"])
    with pytest.raises(TrainingError, match=r"class id\(s\) \[7\].*image 0"):
        check_labels(survey(data, block=4), data.classes or (), data)


def test_classes_inferred_from_highest_id() -> None:
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 0] = 2
    data = _data(mask)
    classes = resolve_classes(data, survey(data, block=4))
    assert [c.name for c in classes] == ["class 0", "class 1", "class 2"]


def test_split_is_by_whole_blocks_and_keeps_every_class_in_training() -> None:
    mask = np.zeros((40, 40), np.uint8)
    mask[30:, 30:] = 1  # class 1 only in the last block
    blocks = survey(_data(mask), block=10)
    split = split_blocks(blocks, val_fraction=0.25, seed=3)
    assert split.held_out
    assert len(split.val) == 4 and len(split.train) == 12
    assert not {b.box for b in split.train} & {b.box for b in split.val}
    assert split.class_counts(2)[1] > 0
    again = split_blocks(blocks, val_fraction=0.25, seed=3)
    assert [b.box for b in again.val] == [b.box for b in split.val]


def test_one_block_validates_on_training() -> None:
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 0] = 1
    split = split_blocks(survey(_data(mask), block=8), val_fraction=0.2, seed=0)
    assert not split.held_out and split.val == split.train


def test_image_stats_and_scale() -> None:
    image = np.zeros((4, 4, 2), np.uint16)
    image[..., 0] = 65535
    image[:2, :, 1] = 65535
    data = data_from_arrays([image], [np.zeros((4, 4), np.uint8)])
    mean, std = image_stats(data, survey(data, block=4), scale=dtype_scale(image.dtype))
    assert mean == pytest.approx((1.0, 0.5)) and std == pytest.approx((1.0, 0.5))
    assert dtype_scale(np.dtype(np.uint8)) == 255.0 and dtype_scale(np.dtype(np.float32)) == 1.0


def test_bad_masks_refused() -> None:
    with pytest.raises(TrainingError, match="0..254"):
        _data(np.full((4, 4), 300, np.uint16))
    with pytest.raises(TrainingError, match="integer class ids"):
        _data(np.zeros((4, 4), np.float32))
    with pytest.raises(TrainingError, match="must match"):
        data_from_arrays([np.zeros((4, 5), np.uint8)], [np.zeros((4, 4), np.uint8)])


def test_survey_reads_only_hinted_blocks() -> None:
    from dataclasses import replace

    mask = np.zeros((8, 8), np.uint8)
    mask[1, 1] = 1
    data = _data(mask)
    reads: list[tuple[int, int, int, int]] = []
    from segcore.labels.adapters import LabelView
    from segcore.labels.reader import Layer

    class Counting(LabelView):
        def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> Any:
            reads.append((x, y, w, h))
            return super().read(layer, x, y, w, h, level=level)

    counting = Counting(data.images[0].labels)
    item = replace(data.images[0], labels=counting, labelled_hint=lambda: [Box(0, 0, 3, 5)])
    blocks = survey(replace(data, images=(item,)), block=4)
    assert reads == [(0, 0, 4, 4), (0, 4, 4, 4)]
    assert [b.box for b in blocks] == [Box(0, 0, 4, 4), Box(0, 4, 4, 4)]
