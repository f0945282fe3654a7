"""In-memory label readers: exact windows and nearest-neighbour overviews."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.prediction_map import PredictionMap
from segcore.labels.adapters import ArrayLabels
from segcore.labels.overviews import level_sizes
from segcore.labels.schema import UNLABELLED


def test_level_sizes_halve_down_to_the_limit() -> None:
    assert level_sizes(1000, 300) == [(1000, 300), (500, 150), (250, 75)]
    assert level_sizes(100, 100) == [(100, 100)]


def test_array_labels_read_windows_and_fill_outside() -> None:
    sem = np.arange(12, dtype=np.uint8).reshape(3, 4)
    labels = ArrayLabels(sem)
    assert labels.read("semantic", 2, 1, 3, 3).tolist() == [
        [6, 7, UNLABELLED],
        [10, 11, UNLABELLED],
        [UNLABELLED] * 3,
    ]
    assert labels.read("instance", -1, -1, 2, 2).tolist() == [[0, 0], [0, 0]]


def test_array_labels_overviews_are_nearest() -> None:
    sem = (np.arange(600 * 600) % 251).astype(np.uint8).reshape(600, 600)
    labels = ArrayLabels(sem)
    assert labels.level_downsamples == (1.0, 2.0, 4.0)
    assert labels.level_size(2) == (150, 150)
    np.testing.assert_array_equal(labels.read("semantic", 0, 0, 150, 150, level=2), sem[::4, ::4])


@settings(max_examples=40, deadline=None)
@given(
    writes=st.lists(
        st.tuples(
            st.integers(-20, 700),
            st.integers(-20, 500),
            st.integers(1, 300),
            st.integers(1, 300),
            st.integers(0, 9),
        ),  # fmt: skip
        min_size=1,
        max_size=5,
    )
)
def test_prediction_map_matches_a_dense_map_at_every_level(writes: list) -> None:
    width, height = 700, 520
    pred = PredictionMap(width, height)
    dense = np.full((height, width), UNLABELLED, np.uint8)
    score = np.zeros((height, width), np.uint8)
    for x, y, w, h, value in writes:
        classes = np.full((h, w), value, np.uint8)
        conf = np.full((h, w), 10 + value, np.uint8)
        pred.write(x, y, classes, conf)
        rows = slice(max(y, 0), max(y + h, 0))
        cols = slice(max(x, 0), max(x + w, 0))
        dense[rows, cols] = value
        score[rows, cols] = 10 + value
    for level in range(len(pred.level_downsamples)):
        s = 2**level
        w, h = pred.level_size(level)
        np.testing.assert_array_equal(pred.read("semantic", 0, 0, w, h, level=level),
                                      dense[::s, ::s])  # fmt: skip
        np.testing.assert_array_equal(pred.read("confidence", 0, 0, w, h, level=level),
                                      score[::s, ::s])  # fmt: skip


def test_prediction_map_only_stores_touched_chunks() -> None:
    pred = PredictionMap(100_000, 100_000)
    pred.write(50_000, 50_000, np.ones((256, 256), np.uint8), None)
    # 2 x 2 chunks at level 0 plus one or two per overview, of two layers: ~1 MB, not 20 GB
    assert pred.nbytes < 2_000_000
    assert pred.read("semantic", 50_000, 50_000, 2, 1).tolist() == [[1, 1]]
    assert pred.read("confidence", 50_000, 50_000, 1, 1).tolist() == [[0]]
