"""Mergers on tiny arrays whose right answer is known by hand."""

from __future__ import annotations

import numpy as np

from segcore.engine.merger import BlendMerger, ExactMerger, window_weights
from segcore.engine.reader import TileData
from segcore.engine.runners import TileOutput, reduce_logits
from segcore.engine.tiling import plan_tiles


def _tile_output(tile_x: int, tile_y: int, h: int, w: int) -> TileOutput:
    # every pixel's "class" is its image column mod 7, every score its row mod 9
    ys, xs = np.mgrid[tile_y : tile_y + h, tile_x : tile_x + w]
    return TileOutput((xs % 7).astype(np.uint8), (ys % 9).astype(np.uint8))


def test_exact_merger_reassembles_the_image_band_by_band() -> None:
    plan = plan_tiles(50, 40, tile=16, halo=2, stride=4)
    merger = ExactMerger(plan, score="confidence", classes=7, logits=False)
    labels = np.full((40, 50), 99, np.uint8)
    scores = np.full((40, 50), 99, np.uint8)
    next_row = 0
    for tile in plan.tiles():
        out = _tile_output(tile.read.x, tile.read.y, tile.read.h, tile.read.w)
        bands, patches = merger.add(TileData(tile, np.zeros(1), None), out)
        assert patches[0].x == tile.core.x and patches[0].labels.shape == (tile.core.h, tile.core.w)
        for band in bands:
            assert band.y == next_row  # consecutive rows, top to bottom
            labels[band.y : band.y + band.height] = band.labels
            assert band.score is not None
            scores[band.y : band.y + band.height] = band.score
            next_row += band.height
    assert merger.finish() == []
    ys, xs = np.mgrid[0:40, 0:50]
    assert next_row == 40
    np.testing.assert_array_equal(labels, xs % 7)
    np.testing.assert_array_equal(scores, ys % 9)


def test_exact_merger_marks_skipped_and_invalid_pixels_unlabelled() -> None:
    plan = plan_tiles(8, 8, tile=8, halo=0, stride=1)
    (tile,) = plan.tiles()
    invalid = np.zeros((8, 8), bool)
    invalid[2, 3] = True
    merger = ExactMerger(plan, score="none", classes=2, logits=False)
    bands, _ = merger.add(
        TileData(tile, np.zeros(1), invalid), TileOutput(np.ones((8, 8), np.uint8))
    )
    expected = np.ones((8, 8), np.uint8)
    expected[2, 3] = 255
    np.testing.assert_array_equal(bands[0].labels, expected)


def test_masked_rows_are_filled_unlabelled_in_order() -> None:
    mask = np.zeros((4, 1), bool)
    mask[3] = True  # image rows 30..40
    plan = plan_tiles(10, 40, tile=8, halo=0, stride=1, mask=mask)
    merger = ExactMerger(plan, score="none", classes=2, logits=False)
    rows = []
    for tile in plan.tiles():
        bands, _ = merger.add(
            TileData(tile, np.zeros(1), None), TileOutput(np.ones((8, 8), np.uint8))
        )
        rows += bands
    rows += merger.finish()
    out = np.concatenate([b.labels for b in rows])
    assert out.shape == (40, 10)
    # the core of rows 24..32 meets mask rows 30..40, so it is run whole
    assert (out[:24] == 255).all() and (out[24:] == 1).all()


def test_blend_of_identical_tiles_gives_that_value_once_normalised() -> None:
    plan = plan_tiles(30, 30, tile=16, halo=4, stride=1)
    merger = BlendMerger(plan, score="confidence", classes=2, logits=True, window="gaussian")
    logits = np.stack([np.full((16, 16), 1.0), np.full((16, 16), 3.0)]).astype(np.float32)
    bands = []
    for tile in plan.tiles():
        out = TileOutput(np.ones((16, 16), np.uint8), None, logits)
        bands += merger.add(TileData(tile, np.zeros(1), None), out)[0]
    bands += merger.finish()
    assert [b.y for b in bands] == sorted(b.y for b in bands)
    assert sum(b.height for b in bands) == 30
    for band in bands:
        assert band.logits is not None
        np.testing.assert_allclose(band.logits[0], 1.0, rtol=1e-6)
        np.testing.assert_allclose(band.logits[1], 3.0, rtol=1e-6)
        assert (band.labels == 1).all()
        # softmax of (1, 3): 1 / (1 + e^-2) = 0.8808 -> 225
        assert band.score is not None and (band.score == 225).all()


def test_blend_averages_with_the_window_weights() -> None:
    # two tiles overlapping on one axis: 1-D check of the weighted mean at one pixel
    plan = plan_tiles(24, 16, tile=16, halo=4, stride=1)
    assert [t.read.x for t in plan.tiles()] == [0, 8]
    merger = BlendMerger(plan, score="none", classes=1, logits=True, window="cosine")
    bands = []
    for value, tile in zip((0.0, 10.0), plan.tiles(), strict=True):
        out = TileOutput(
            np.zeros((16, 16), np.uint8), None, np.full((1, 16, 16), value, np.float32)
        )
        bands += merger.add(TileData(tile, np.zeros(1), None), out)[0]
    bands += merger.finish()
    got = np.concatenate([b.logits for b in bands if b.logits is not None], axis=1)[0]
    w = window_weights(16, 16, "cosine")[8]
    # pixel x = 12 is column 12 of tile 0 and column 4 of tile 1
    expected = (0.0 * w[12] + 10.0 * w[4]) / (w[12] + w[4])
    assert abs(got[8, 12] - expected) < 1e-5
    assert got[8, 0] == 0.0 and got[8, 23] == 10.0


def test_window_weights_peak_at_centre_and_stay_positive() -> None:
    for kind in ("gaussian", "cosine"):
        w = window_weights(16, 16, kind)  # type: ignore[arg-type]
        assert w.dtype == np.float32 and w.max() == 1.0 and w.min() > 0
        assert w[7, 7] == w.max() or w[8, 8] == w.max()


def test_reduce_logits_confidence_and_entropy() -> None:
    logits = np.zeros((4, 1, 2), np.float32)
    logits[2, 0, 1] = 100.0  # pixel 1: certain of class 2; pixel 0: uniform
    labels, conf = reduce_logits(logits, "confidence")
    assert labels.tolist() == [[0, 2]]
    assert conf is not None and conf.tolist() == [[64, 255]]  # 255 / 4 = 63.75
    _, entropy = reduce_logits(logits, "entropy")
    assert entropy is not None and entropy.tolist() == [[255, 0]]
