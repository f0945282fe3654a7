"""Instances: select, merge, split by a line, delete, and finding them across chunks."""

from __future__ import annotations

import numpy as np
import pytest
from label_helpers import StoreFactory, maps

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.labels.edits.instances import (
    delete_instance,
    instance_at,
    instance_chunks,
    merge_instances,
    split_instance,
)
from segcore.labels.edits.paint import paint_rectangle


def _two_cells(new_store: StoreFactory):  # type: ignore[no-untyped-def]
    s = new_store(16, 16)
    paint_rectangle(s, Box(1, 1, 5, 4), paint=Paint(1, s.next_instance_id()))  # id 1
    paint_rectangle(s, Box(6, 6, 8, 8), paint=Paint(1, s.next_instance_id()))  # id 2, 4 chunks
    return s


def test_select_and_find(new_store: StoreFactory) -> None:
    s = _two_cells(new_store)
    assert instance_at(s, 2, 2) == 1 and instance_at(s, 10, 10) == 2 and instance_at(s, 0, 0) == 0
    # followed from the clicked chunk across chunk borders
    near = instance_chunks(s, 2, near=(13, 13))
    assert {(b.x, b.y, b.w, b.h) for b in near} == {
        (0, 0, 8, 8),
        (8, 0, 8, 8),
        (0, 8, 8, 8),
        (8, 8, 8, 8),
    }
    assert {(b.x, b.y) for b in instance_chunks(s, 2)} == {(0, 0), (8, 0), (0, 8), (8, 8)}
    assert {(b.x, b.y) for b in instance_chunks(s, 1, box=Box(8, 8, 8, 8))} == set()
    with pytest.raises(LabelError, match="instance id 0"):
        instance_chunks(s, 0)


def test_merge(new_store: StoreFactory) -> None:
    s = _two_cells(new_store)
    assert merge_instances(s, [2, 1]) == Box(6, 6, 8, 8)
    _, inst = maps(s)
    assert set(np.unique(inst).tolist()) == {0, 1}
    assert (inst[6:14, 6:14] == 1).all()
    with pytest.raises(LabelError, match="instance 0"):
        merge_instances(s, [1], into=0)


def test_delete(new_store: StoreFactory) -> None:
    s = _two_cells(new_store)
    assert delete_instance(s, 2, near=(7, 7)) == Box(6, 6, 8, 8)
    sem, inst = maps(s)
    assert (sem[6:14, 6:14] == 255).all() and not inst[6:, 6:].any()
    assert (inst[1:5, 1:6] == 1).all()


def test_split_by_a_vertical_line(new_store: StoreFactory) -> None:
    s = _two_cells(new_store)
    # cut instance 2 (cols 6..13) at col 8: parts cols 6..7 (16 px) and 9..13 (40 px)
    box = split_instance(s, 2, [(8, 4), (8, 15)])
    assert box == Box(6, 6, 2, 8)
    sem, inst = maps(s)
    expected = np.zeros((16, 16), np.uint32)
    expected[1:5, 1:6] = 1
    expected[6:14, 8:14] = 2  # the larger part keeps its id and the line pixels (tie)
    expected[6:14, 6:8] = 3  # next free id
    np.testing.assert_array_equal(inst, expected)
    assert s.max_instance == 3 and (sem[6:14, 6:14] == 1).all()


def test_split_that_misses_changes_nothing(new_store: StoreFactory) -> None:
    s = _two_cells(new_store)
    assert split_instance(s, 1, [(0, 8), (15, 8)], near=(2, 2)).is_empty
    assert split_instance(s, 2, [(6, 6), (6, 9)]).is_empty  # along the edge: one part left
