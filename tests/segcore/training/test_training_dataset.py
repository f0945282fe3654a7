"""Training tiles stay inside training blocks, are reproducible, and weigh corrections."""

from __future__ import annotations

import numpy as np
import torch

from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED
from segcore.models.meta import Normalization
from segcore.training.augment import make_augment
from segcore.training.data import data_from_arrays
from segcore.training.dataset import TileOptions, TrainTiles, ValTiles, read_tile
from segcore.training.split import split_blocks
from segcore.training.survey import survey

NORM = Normalization((0.0,), (1.0,), 255.0)


def _data(corrected: dict[int, list[Box]] | None = None):  # type: ignore[no-untyped-def]
    # each pixel's value says which 16 x 16 block it lies in
    ys, xs = np.mgrid[0:64, 0:64]
    image = ((ys // 16) * 4 + xs // 16).astype(np.uint8)[..., None]
    mask = (xs % 2).astype(np.uint8)
    return data_from_arrays([image], [mask], corrected=corrected)


def test_train_tiles_never_cross_into_validation() -> None:
    data = _data()
    split = split_blocks(survey(data, block=16), val_fraction=0.25, seed=0)
    train_ids = {(b.box.y // 16) * 4 + b.box.x // 16 for b in split.train}
    tiles = TrainTiles(
        data, split.train, options=TileOptions(8, NORM), length=200, augment=None, seed=1
    )
    for i in range(len(tiles)):
        image, _, _ = tiles[i]
        seen = set((image * 255).round().long().unique().tolist())
        assert seen <= train_ids
    val = ValTiles(data, split.val, options=TileOptions(8, NORM))
    val_ids = {(b.box.y // 16) * 4 + b.box.x // 16 for b in split.val}
    assert len(val) == 4 * len(split.val)
    for i in range(len(val)):
        seen = set((val[i][0] * 255).round().long().unique().tolist())
        assert seen <= val_ids


def test_tiles_depend_on_seed_epoch_and_index_only() -> None:
    data = _data()
    blocks = survey(data, block=32)
    augment = make_augment(tile=16, rgb8=False)

    def tiles(seed: int) -> TrainTiles:
        return TrainTiles(
            data, blocks, options=TileOptions(16, NORM), length=4, augment=augment, seed=seed
        )

    a, b = tiles(5), tiles(5)
    torch.manual_seed(123)  # the global generator must not matter
    first = a[2]
    torch.manual_seed(999)
    assert all(torch.equal(x, y) for x, y in zip(first, b[2], strict=True))
    b.set_epoch(1)
    assert not torch.equal(first[0], b[2][0]) or not torch.equal(first[1], b[2][1])
    assert not torch.equal(tiles(6)[2][0], first[0])


def test_corrected_regions_weighted_and_sampled_more() -> None:
    data = _data({0: [Box(2, 3, 4, 5)]})
    _, labels, weight, _ = read_tile(data, 0, Box(0, 0, 8, 8), corrected_weight=4.0)
    expected = np.ones((8, 8), np.float32)
    expected[3:8, 2:6] = 4.0
    np.testing.assert_array_equal(weight, expected)
    blocks = survey(data, block=16)
    tiles = TrainTiles(
        data, blocks, options=TileOptions(16, NORM, 4.0), length=1, augment=None, seed=0
    )
    first = [i for i, b in enumerate(blocks) if b.box == Box(0, 0, 16, 16)][0]
    other = 1 if first != 1 else 0
    assert (tiles.p[:, first] == 4 * tiles.p[:, other]).all()


def test_windows_past_the_edge_are_unlabelled() -> None:
    data = _data()
    _, labels, _, _ = read_tile(data, 0, Box(60, 60, 8, 8), corrected_weight=1.0)
    assert (labels[4:, :] == UNLABELLED).all() and (labels[:, 4:] == UNLABELLED).all()
    assert (labels[:4, :4] != UNLABELLED).all()
