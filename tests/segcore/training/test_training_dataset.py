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


def _tiles(image: np.ndarray, mask: np.ndarray, tile: int, length: int) -> TrainTiles:
    data = data_from_arrays([image], [mask])
    blocks = survey(data, block=64)
    return TrainTiles(
        data, blocks, options=TileOptions(tile, NORM), length=length, augment=None, seed=0
    )


def test_a_rare_class_is_drawn_as_often_as_a_common_one() -> None:
    image = np.zeros((64, 64, 1), np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[40:42, 40:42] = 1  # 4 pixels of 4,096
    tiles = _tiles(image, mask, tile=8, length=400)
    with_rare = sum(bool((tiles[i][1] == 1).any()) for i in range(len(tiles)))
    # half the tiles are drawn around a rare pixel; a uniform draw would hit it in ~2 %
    assert 0.4 < with_rare / len(tiles) < 0.65


def test_nodata_is_unlabelled_filled_and_mostly_nodata_tiles_drawn_again() -> None:
    image = np.full((64, 64, 1), 100.0, np.float32)
    image[:, :40] = np.nan  # 62 % nodata, labelled everywhere
    mask = (np.arange(64)[None, :] % 2 * np.ones((64, 1))).astype(np.uint8)
    tiles = _tiles(image, mask, tile=16, length=300)
    first_draws = []
    for i in range(len(tiles)):
        _, box = tiles.window(np.random.default_rng([0, 0, i]))
        first_draws.append(np.isnan(image[box.y : box.y1, box.x : box.x1, 0]).mean() > 0.5)
    kept = []
    for i in range(len(tiles)):
        pixels, target, _ = tiles[i]
        nodata = target == UNLABELLED  # every valid pixel is labelled
        assert torch.isfinite(pixels).all()
        assert (pixels[0][nodata] == 0).all() and (pixels[0][~nodata] > 0.3).all()
        kept.append(float(nodata.float().mean()) > 0.5)
    first, last = float(np.mean(first_draws)), float(np.mean(kept))
    print(f"mostly nodata: {first:.3f} of first draws, {last:.3f} of tiles")
    assert first > 0.4  # tiles around labelled pixels often start on nodata
    assert last < first**3  # drawn again up to 3 times: about first^4
