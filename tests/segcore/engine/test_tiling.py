"""Tile layout: cores partition the output, halos and stride alignment hold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcore.engine.reader import reflect_index
from segcore.engine.tiling import axis_windows, plan_tiles
from segcore.errors import InferenceError
from segcore.labels.box import Box


def test_axis_windows_worked_example() -> None:
    # padded length 208, tile 64, step (64 - 16) = 48; the last tile is shifted to end at 208
    size, origins, spans = axis_windows(200, 64, 8, 16)
    assert size == 64
    assert origins == [0, 48, 96, 144]
    assert spans == [(0, 56), (56, 104), (104, 152), (152, 200)]


def test_small_axis_is_one_tile_of_the_padded_length() -> None:
    assert axis_windows(20, 64, 8, 16) == (32, [0], [(0, 20)])
    assert axis_windows(64, 64, 8, 16) == (64, [0], [(0, 64)])


@given(
    length=st.integers(1, 3000),
    stride=st.sampled_from([1, 2, 8, 16, 32]),
    halo=st.integers(0, 100),
    extra=st.integers(1, 8),
)
def test_cores_partition_and_respect_halo(length: int, stride: int, halo: int, extra: int) -> None:
    tile = (-(-2 * halo // stride) + extra) * stride
    size, origins, spans = axis_windows(length, tile, halo, stride)
    padded = -(-length // stride) * stride
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    for o, (a, b) in zip(origins, spans, strict=True):
        assert o % stride == 0 and o >= 0 and o + size <= padded
        assert a < b
        # inner edges keep a halo; image edges coincide with the padded image's edges
        assert a - o >= halo or o == 0
        assert o + size - b >= halo or o + size == padded


@given(
    length=st.integers(1, 20000),
    stride=st.sampled_from([1, 8, 32]),
    halo=st.integers(0, 300),
    extra=st.integers(1, 60),
)
def test_balancing_never_adds_a_tile(length: int, stride: int, halo: int, extra: int) -> None:
    tile = (-(-2 * halo // stride) + extra) * stride
    size, origins, _ = axis_windows(length, tile, halo, stride)
    padded = -(-length // stride) * stride
    step = (tile - 2 * halo) // stride * stride
    unbalanced = 1 if tile >= padded else -(-(padded - tile) // step) + 1
    assert size <= tile and len(origins) == unbalanced


def test_an_8k_axis_with_a_295_px_halo_takes_5_tiles_of_2144() -> None:
    # the balanced size's step rounds down to the stride; 2112 would need a 6th tile
    size, origins, _ = axis_windows(8192, 2368, 295, 32)
    assert (size, len(origins)) == (2144, 5)


def test_tile_too_small_for_halo_is_refused_with_advice() -> None:
    with pytest.raises(InferenceError, match="at least 96"):
        axis_windows(1000, 64, 40, 16)


def test_roi_keeps_only_tiles_it_meets_and_clips_cores() -> None:
    plan = plan_tiles(200, 200, tile=64, halo=8, stride=16, roi=Box(60, 10, 30, 20))
    cores = [t.core for t in plan.tiles()]
    assert cores == [Box(60, 10, 30, 20)]  # inside the second column's core (56..104)
    assert plan.tiles()[0].read == Box(48, 0, 64, 64)


def test_roi_outside_image_is_an_error() -> None:
    with pytest.raises(InferenceError, match="not inside"):
        plan_tiles(100, 100, tile=64, halo=8, stride=16, roi=Box(90, 0, 20, 10))


def test_mask_keeps_tiles_whose_core_meets_it() -> None:
    mask = np.zeros((20, 20), bool)  # one mask pixel = 10 x 10 image pixels
    mask[19, 19] = True
    plan = plan_tiles(200, 200, tile=64, halo=8, stride=16, mask=mask)
    assert [(t.row, t.col) for t in plan.tiles()] == [(3, 3)]
    assert plan.count == 1


@given(st.integers(1, 9), st.integers(0, 30))
def test_reflect_index_matches_numpy_reflect(length: int, pad: int) -> None:
    expected = np.pad(np.arange(length), pad, mode="reflect")
    got = reflect_index(np.arange(-pad, length + pad), length)
    assert got.tolist() == expected.tolist()


def test_the_plan_follows_the_runner_and_the_job_size_is_its_output() -> None:
    from segcore.engine import tiling
    from segcore.engine.options import InferOptions
    from segcore.models.meta import ModelMeta, Normalization

    meta = ModelMeta(
        arch="x", config={}, in_channels=1, classes=(), output_stride=8, receptive_field=295,
        exact=True, normalization=Normalization((0.0,), (1.0,), 1.0),
    )  # fmt: skip
    options = InferOptions()
    whole = tiling.tile_plan(9000, 9000, meta=meta, mode="exact", options=options)
    strips = tiling.tile_plan(9000, 9000, meta=meta, mode="exact", options=options, in_strips=True)
    assert whole.tile_w <= tiling.MAX_DEFAULT_TILE < strips.tile_w <= tiling.MAX_STRIP_TILE
    assert tiling.output_pixels(100, 80, options) == 8000
    mask = np.zeros((4, 5), bool)
    mask[:2] = True  # the top half of the image
    assert tiling.output_pixels(100, 80, InferOptions(mask=mask)) == 4000
    with pytest.raises(InferenceError, match="not inside"):
        tiling.check_request(
            50, 50, meta=meta, mode="exact", options=InferOptions(roi=(40, 0, 20, 5))
        )
