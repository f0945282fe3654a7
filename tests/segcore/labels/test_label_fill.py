"""Flood fill and relabelling: exact pixels, across chunk borders."""

from __future__ import annotations

import numpy as np
import pytest
from label_helpers import StoreFactory, grid, maps

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.labels.edits.fill import flood_fill, relabel_class, relabel_instance
from segcore.labels.edits.paint import paint_rectangle, paint_stroke

RING = grid("""
    ................
    .11111111111111.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .1............1.
    .11111111111111.
    ................
    ................
""")


def test_fill_inside_a_ring_spanning_four_chunks(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    s.write("semantic", 0, 0, RING)
    box = flood_fill(s, 5, 5, paint=Paint(2, 4))
    assert box == Box(2, 2, 12, 11)
    sem, inst = maps(s)
    expected = RING.copy()
    expected[2:13, 2:14] = 2
    np.testing.assert_array_equal(sem, expected)
    np.testing.assert_array_equal(inst, np.where(expected == 2, 4, 0))


def test_fill_outside_reaches_around(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    s.write("semantic", 0, 0, RING)
    box = flood_fill(s, 0, 15, paint=Paint(3))
    assert box == Box(0, 0, 16, 16)
    sem, _ = maps(s)
    assert (sem[0] == 3).all() and (sem[:, 15] == 3).all() and sem[5, 5] == 255


def test_four_versus_eight_connectivity(new_store: StoreFactory) -> None:
    diagonal = grid("""
        1.......
        .1......
        ..1.....
        ........
        ........
        ........
        ........
        ........
    """)
    s = new_store(8, 8)
    s.write("semantic", 0, 0, diagonal)
    assert flood_fill(s, 0, 0, paint=Paint(5), connectivity=4) == Box(0, 0, 1, 1)
    s.write("semantic", 0, 0, diagonal)
    assert flood_fill(s, 0, 0, paint=Paint(5), connectivity=8) == Box(0, 0, 3, 3)
    assert maps(s)[0][2, 2] == 5


def test_fill_respects_instances_and_limits(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    paint_rectangle(s, Box(0, 0, 4, 8), paint=Paint(1, 1))
    paint_rectangle(s, Box(4, 0, 4, 8), paint=Paint(1, 2))
    assert flood_fill(s, 0, 0, paint=Paint(1, 9)) == Box(0, 0, 4, 8)
    assert flood_fill(s, 0, 0, paint=Paint(1, 9)).is_empty  # already that value
    with pytest.raises(LabelError, match="larger than 10 pixels"):
        flood_fill(s, 6, 6, paint=Paint(3), max_pixels=10)
    with pytest.raises(LabelError, match="outside"):
        flood_fill(s, 8, 0, paint=Paint(3))
    with pytest.raises(LabelError, match="connectivity"):
        flood_fill(s, 0, 0, paint=Paint(3), connectivity=6)  # type: ignore[arg-type]


def test_relabel_class_whole_store_and_box(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    paint_stroke(s, [(1, 1), (14, 14)], radius=0.5, paint=Paint(1, 3))
    assert relabel_class(s, 1, 2, box=Box(0, 0, 8, 8)) == Box(1, 1, 7, 7)
    sem, inst = maps(s)
    diag = np.arange(1, 15)
    assert sem[diag, diag].tolist() == [2] * 7 + [1] * 7
    assert (inst[diag, diag] == 3).all()
    assert relabel_class(s, 1, 255) == Box(8, 8, 7, 7)
    sem, inst = maps(s)
    assert sem[10, 10] == 255 and inst[10, 10] == 0 and inst[3, 3] == 3
    assert relabel_class(s, 4, 4).is_empty


def test_relabel_instance(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    paint_rectangle(s, Box(6, 6, 4, 4), paint=Paint(1, 5))
    assert relabel_instance(s, 5, 8) == Box(6, 6, 4, 4)
    _, inst = maps(s)
    assert set(np.unique(inst).tolist()) == {0, 8}
    with pytest.raises(LabelError, match="instance 0"):
        relabel_instance(s, 0, 3)
