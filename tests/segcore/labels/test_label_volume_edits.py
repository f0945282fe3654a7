"""Volume edits: copy a slice, interpolate a class between slices, 3-D fill."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.editor import Editor
from segcore.labels.edits.common import Paint
from segcore.labels.edits.paint import paint_disk, paint_rectangle
from segcore.labels.edits.volume import copy_slice, fill_3d, interpolate_class
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.labels.store import LabelStore

CLASSES = make_classes(["a", "b", "c"])


def volume(tmp: Path, depth: int = 5) -> LabelStore:
    return LabelStore.create(tmp / "v.zarr", width=32, height=24, depth=depth, chunk=16)


def sem(store: LabelStore, z: int) -> np.ndarray:
    return store.plane(z).read("semantic", 0, 0, 32, 24)


def test_copy_previous_slice_is_one_undoable_action(tmp_path: Path) -> None:
    v = volume(tmp_path)
    paint_rectangle(v.plane(1), Box(2, 3, 5, 4), paint=Paint(1))
    paint_rectangle(v.plane(2), Box(20, 10, 3, 3), paint=Paint(2))  # replaced by the copy
    ed = Editor(v, classes=CLASSES)
    ed.set_plane(2)
    ed.apply(copy_slice, 1)
    np.testing.assert_array_equal(sem(v, 2), sem(v, 1))
    ed.undo()
    assert (sem(v, 2)[10:13, 20:23] == 2).all() and np.count_nonzero(sem(v, 2) != 255) == 9
    ed.set_plane(2)
    ed.apply(copy_slice, 1, only_unlabelled=True)
    assert (sem(v, 2)[10:13, 20:23] == 2).all() and (sem(v, 2)[3:7, 2:7] == 1).all()


def test_interpolating_between_two_squares_grows_linearly(tmp_path: Path) -> None:
    v = volume(tmp_path)
    paint_rectangle(v.plane(0), Box(10, 8, 4, 4), paint=Paint(0))  # 4 x 4
    paint_rectangle(v.plane(4), Box(8, 6, 8, 8), paint=Paint(0))  # 8 x 8, around it
    paint_rectangle(v.plane(2), Box(8, 6, 1, 1), paint=Paint(1))  # another class stays
    ed = Editor(v, classes=CLASSES)
    ed.apply(interpolate_class, 0, 0, 4, paint=Paint(0))
    sides = [int(np.count_nonzero((sem(v, z) == 0).any(axis=0))) for z in range(5)]
    # the edge moves 2 px a side over 4 slices: on pixels it steps at the middle slices
    assert sides == [4, 4, 6, 6, 8]
    assert sem(v, 2)[6, 8] == 1
    assert len(ed.history) == 1
    ed.undo()
    assert ed.changed_planes == [1, 2, 3] and not (sem(v, 2) == 0).any()


def test_interpolation_needs_the_class_on_both_slices(tmp_path: Path) -> None:
    v = volume(tmp_path)
    paint_rectangle(v.plane(0), Box(1, 1, 2, 2), paint=Paint(0))
    with pytest.raises(LabelError, match="no pixels on slice 3"):
        interpolate_class(v, 0, 0, 3, paint=Paint(0))


def test_fill_3d_follows_a_tube_through_slices_and_stops_at_walls(tmp_path: Path) -> None:
    v = volume(tmp_path)
    for z in range(4):  # a tube of class 0 drifting one pixel a slice, slice 4 empty
        paint_disk(v.plane(z), cx=10 + z, cy=12, radius=3, paint=Paint(0))
    paint_disk(v.plane(1), cx=26, cy=4, radius=2, paint=Paint(0))  # not connected to it
    ed = Editor(v, classes=CLASSES)
    ed.set_plane(2)
    ed.apply(fill_3d, 12, 12, paint=Paint(2))
    for z in range(4):
        assert not (sem(v, z)[8:17, 5:20] == 0).any() and (sem(v, z) == 2).any()
    assert (sem(v, 1)[4, 26] == 0) and not (sem(v, 4) == 2).any()
    ed.undo()
    assert ed.changed_planes == [0, 1, 2, 3] and not (sem(v, 0) == 2).any()
    with pytest.raises(LabelError, match="passes 10 voxels"):
        ed.apply(fill_3d, 12, 12, paint=Paint(2), max_voxels=10)
    assert not any((sem(v, z) == 2).any() for z in range(5))  # rolled back
    assert (sem(v, 0) != UNLABELLED).any()


def test_side_views_show_each_slice_as_a_line(tmp_path: Path) -> None:
    from segcore.labels.edits.volume import side_view

    v = volume(tmp_path)
    paint_rectangle(v.plane(1), Box(10, 4, 3, 6), paint=Paint(2))  # cols 10-12, rows 4-9
    sagittal = side_view(v, column=11)
    assert sagittal.shape == (5, 24)
    assert (sagittal[1, 4:10] == 2).all() and (np.delete(sagittal, 1, axis=0) == UNLABELLED).all()
    coronal = side_view(v, row=5)
    assert coronal.shape == (5, 32) and (coronal[1, 10:13] == 2).all()
    assert int(np.count_nonzero(coronal != UNLABELLED)) == 3
    with pytest.raises(LabelError):
        side_view(v)
