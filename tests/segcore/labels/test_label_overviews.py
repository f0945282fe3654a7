"""Overviews: the 2x2 mode / nearest rules, and incremental == full rebuild."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from label_helpers import StoreFactory, maps

from segcore.labels.box import Box
from segcore.labels.overviews import level_sizes, mode_2x2, reduce_2x2


def test_mode_rules() -> None:
    block = np.array(
        [
            [1, 1, 3, 255, 4, 5, 7, 7],
            [2, 255, 255, 3, 6, 9, 7, 2],
        ],
        np.uint8,
    )
    # majority 1; 3-vs-255 tie -> 3; all distinct -> smallest; 7 appears 3 times
    assert mode_2x2(block).tolist() == [[1, 3, 4, 7]]


@pytest.mark.parametrize("size", [10, 130])  # the small-block and the large-block code
def test_mode_matches_a_plain_count(size: int) -> None:
    rng = np.random.default_rng(size)
    block = rng.choice(np.array([0, 1, 2, 255], np.uint8), (size, size))
    expected = np.empty((size // 2, size // 2), np.uint8)
    for r in range(size // 2):
        for c in range(size // 2):
            vals = block[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].ravel().tolist()
            expected[r, c] = min(set(vals), key=lambda v: (-vals.count(v), v))
    np.testing.assert_array_equal(mode_2x2(block), expected)


def test_odd_edge_repeats() -> None:
    block = np.array([[1, 2, 2], [1, 2, 2], [3, 3, 3]], np.uint8)
    assert reduce_2x2(block, "semantic").tolist() == [[1, 2], [3, 3]]
    inst = np.arange(9, dtype=np.uint32).reshape(3, 3)
    assert reduce_2x2(inst, "instance").tolist() == [[0, 2], [6, 8]]


def test_level_sizes() -> None:
    assert level_sizes(50_000, 30_000, 512)[-1] == (391, 235)
    assert level_sizes(17, 5, 4) == [(17, 5), (9, 3), (5, 2), (3, 1)]
    assert level_sizes(8, 8, 512) == [(8, 8)]


def test_overview_of_a_square(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    s.write("semantic", 4, 4, np.full((6, 6), 2, np.uint8))
    sem1, _ = maps(s, 1)
    expected = np.full((8, 8), 255, np.uint8)
    expected[2:5, 2:5] = 2
    np.testing.assert_array_equal(sem1, expected)
    sem2, _ = maps(s, 2)
    # 2-2 ties go to the class; a lone class pixel in a block loses
    assert sem2.tolist() == [[255] * 4, [255, 2, 2, 255], [255, 2, 255, 255], [255] * 4]


boxes = st.tuples(
    st.integers(0, 20), st.integers(0, 12), st.integers(1, 9), st.integers(1, 9), st.integers(0, 3)
)


@settings(max_examples=20, deadline=None)
@given(st.lists(boxes, min_size=1, max_size=6))
def test_incremental_equals_rebuild(tmp_path_factory, edits: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    from segcore.labels.store import LabelStore

    path = tmp_path_factory.mktemp("ov") / "s.zarr"
    s = LabelStore.create(path, width=23, height=15, chunk=8, overview_limit=3)
    for x, y, w, h, v in edits:
        b = Box(x, y, w, h).clip(23, 15)
        s.write("semantic", b.x, b.y, np.full((b.h, b.w), v, np.uint8))
        s.write("instance", b.x, b.y, np.full((b.h, b.w), v * 10 + x, np.uint32))
    incremental = [maps(s, k) for k in range(s.level_count)]
    s.rebuild_overviews()
    for k in range(s.level_count):
        for a, b in zip(incremental[k], maps(s, k), strict=True):
            np.testing.assert_array_equal(a, b)
