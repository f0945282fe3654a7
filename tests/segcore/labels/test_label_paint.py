"""Brush, stroke, polygon, lasso, rectangle and eraser: exact pixels on tiny maps."""

from __future__ import annotations

import numpy as np
import pytest
from label_helpers import StoreFactory, grid, maps

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.edits.common import ERASE, Paint
from segcore.labels.edits.paint import (
    erase_stroke,
    paint_disk,
    paint_lasso,
    paint_polygon,
    paint_rectangle,
    paint_stroke,
)


def test_disk_radius_1_is_a_plus(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    box = paint_disk(s, cx=3, cy=3, radius=1, paint=Paint(2))
    assert box == Box(2, 2, 3, 3)
    sem, inst = maps(s)
    expected = grid("""
        ........
        ........
        ...2....
        ..222...
        ...2....
        ........
        ........
        ........
    """)
    np.testing.assert_array_equal(sem, expected)
    assert not inst.any()


def test_disk_radius_2_and_instance(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    box = paint_disk(s, cx=3, cy=3, radius=2, paint=Paint(1, 7))
    assert box == Box(1, 1, 5, 5)
    sem, inst = maps(s)
    expected = grid("""
        ........
        ...1....
        ..111...
        .11111..
        ..111...
        ...1....
        ........
        ........
    """)
    np.testing.assert_array_equal(sem, expected)
    np.testing.assert_array_equal(inst, np.where(expected == 1, 7, 0))
    assert s.max_instance == 7


def test_disk_at_corner_is_clipped(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    assert paint_disk(s, cx=0, cy=0, radius=1.5, paint=Paint(4)) == Box(0, 0, 2, 2)
    sem, _ = maps(s)
    assert (sem[:2, :2] == 4).all() and (sem != 4).sum() == 60


def test_stroke_is_continuous_across_chunks(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    box = paint_stroke(s, [(1, 1), (14, 1), (14, 12)], radius=0.5, paint=Paint(3))
    assert box == Box(1, 1, 14, 12)
    sem, _ = maps(s)
    expected = np.full((16, 16), 255, np.uint8)
    expected[1, 1:15] = 3
    expected[1:13, 14] = 3
    np.testing.assert_array_equal(sem, expected)


def test_stroke_thick_segment(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    paint_stroke(s, [(2, 3), (5, 3)], radius=1, paint=Paint(1))
    sem, _ = maps(s)
    expected = grid("""
        ........
        ........
        ..1111..
        .111111.
        ..1111..
        ........
        ........
        ........
    """)
    np.testing.assert_array_equal(sem, expected)


def test_polygon_rectangle_and_triangle(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    assert paint_polygon(s, [(1, 1), (4, 1), (4, 3), (1, 3)], paint=Paint(1)) == Box(1, 1, 4, 3)
    assert paint_lasso(s, [(0, 4), (4, 4), (0, 8)], paint=Paint(2)) == Box(0, 4, 5, 4)
    sem, _ = maps(s)
    expected = grid("""
        ........
        .1111...
        .1111...
        .1111...
        22222...
        2222....
        222.....
        22......
    """)
    np.testing.assert_array_equal(sem, expected)


def test_rectangle_and_erase(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    assert paint_rectangle(s, Box(2, 2, 10, 3), paint=Paint(5, 9)) == Box(2, 2, 6, 3)
    assert erase_stroke(s, [(4, 3)], radius=0) == Box(4, 3, 1, 1)
    sem, inst = maps(s)
    expected = grid("""
        ........
        ........
        ..555555
        ..55.555
        ..555555
        ........
        ........
        ........
    """)
    np.testing.assert_array_equal(sem, expected)
    np.testing.assert_array_equal(inst, np.where(expected == 5, 9, 0))


def test_stuff_paint_clears_instances(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    paint_rectangle(s, Box(0, 0, 4, 4), paint=Paint(1, 3))
    paint_rectangle(s, Box(2, 2, 4, 4), paint=Paint(0))
    sem, inst = maps(s)
    assert inst[0, 0] == 3 and inst[3, 3] == 0 and sem[3, 3] == 0 and sem[1, 1] == 1


def test_outside_and_bad_input(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    assert paint_disk(s, cx=40, cy=40, radius=2, paint=Paint(1)).is_empty
    assert paint_rectangle(s, Box(0, 0, 0, 5), paint=ERASE).is_empty
    with pytest.raises(LabelError, match="radius"):
        paint_disk(s, cx=1, cy=1, radius=float("nan"), paint=Paint(1))
    with pytest.raises(LabelError, match="polygon"):
        paint_polygon(s, [(1, 1), (2, 2)], paint=Paint(1))
    with pytest.raises(LabelError, match="class id"):
        Paint(300)
    with pytest.raises(LabelError, match="erasing"):
        Paint(255, 4)
    assert s.labelled_pixels == 0
