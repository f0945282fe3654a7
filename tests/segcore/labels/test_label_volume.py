"""Label volumes: one label map per slice, edits touch one slice, undo and journal carry it."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcore.errors import LabelError
from segcore.labels import storecheck
from segcore.labels.box import Box
from segcore.labels.editor import Editor
from segcore.labels.edits.common import Paint
from segcore.labels.edits.paint import paint_disk, paint_rectangle
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.labels.store import LabelStore
from segcore.project.journal import Journal

CLASSES = make_classes(["a", "b"], things={"b"})


def volume(tmp: Path, name: str = "v.zarr", depth: int = 5) -> LabelStore:
    return LabelStore.create(
        tmp / name, width=40, height=30, depth=depth, chunk=16, overview_limit=8
    )


def planes(store: LabelStore) -> np.ndarray:
    return np.stack([store.plane(z).read("semantic", 0, 0, 40, 30) for z in range(store.depth)])


def test_painting_slice_k_leaves_every_other_slice_alone(tmp_path: Path) -> None:
    v = volume(tmp_path)
    v.plane(2).write("semantic", 3, 4, np.full((5, 6), 1, np.uint8))
    maps = planes(v)
    assert (maps[2, 4:9, 3:9] == 1).all() and np.count_nonzero(maps[2] != UNLABELLED) == 30
    assert (np.delete(maps, 2, axis=0) == UNLABELLED).all()
    assert v.slice_counts().tolist() == [0, 0, 30, 0, 0]
    assert v.labelled_slices == 1 and v.labelled_pixels == 30
    # overviews are per slice: level 1 of slice 2 shows it, of slice 1 does not
    assert (v.plane(2).read("semantic", 2, 2, 3, 2, level=1) == 1).all()
    assert (v.plane(1).read("semantic", 0, 0, 20, 15, level=1) == UNLABELLED).all()
    v.close()
    # on disk: one chunk file of slice 2, nothing else; reopened the same
    files = storecheck.chunk_files(v.path / "semantic" / "0", ndim=3)
    assert files == {(2, 0, 0)}
    again = LabelStore.open(v.path)
    assert again.depth == 5 and again.slice_counts().tolist() == [0, 0, 30, 0, 0]
    np.testing.assert_array_equal(planes(again), maps)


def test_two_d_stores_keep_format_1_and_volumes_are_version_2(tmp_path: Path) -> None:
    flat = LabelStore.create(tmp_path / "flat.zarr", width=20, height=20, chunk=16)
    flat.write("semantic", 0, 0, np.zeros((2, 2), np.uint8))
    flat.close()
    attrs = json.loads((flat.path / "zarr.json").read_text())["attributes"]["tessera"]
    assert attrs["version"] == 1 and "depth" not in attrs
    assert flat.depth == 1 and flat.plane(0) is flat
    v = volume(tmp_path)
    v.close()
    attrs = json.loads((v.path / "zarr.json").read_text())["attributes"]["tessera"]
    assert attrs["version"] == 2 and attrs["depth"] == 5
    with pytest.raises(LabelError, match="slices 0..4, not 5"):
        v.plane(5)


def test_a_volume_from_a_newer_tessera_is_refused(tmp_path: Path) -> None:
    v = volume(tmp_path)
    v.close()
    doc = json.loads((v.path / "zarr.json").read_text())
    doc["attributes"]["tessera"]["version"] = 3
    (v.path / "zarr.json").write_text(json.dumps(doc))
    with pytest.raises(LabelError, match="format version 3"):
        LabelStore.open(v.path)


def test_undo_and_redo_go_back_to_the_slice_they_changed(tmp_path: Path) -> None:
    v = volume(tmp_path)
    ed = Editor(v, classes=CLASSES)
    ed.set_plane(1)
    ed.apply(paint_disk, cx=10, cy=10, radius=3, paint=Paint(0))
    ed.set_plane(3)
    ed.apply(paint_disk, cx=20, cy=15, radius=4, paint=ed.paint_for(1))
    after = planes(v)
    assert v.slice_counts()[[0, 2, 4]].tolist() == [0, 0, 0]
    ed.set_plane(0)  # the user looks at another slice; undo still finds slice 3
    ed.undo()
    assert ed.changed_planes == [3]
    assert (planes(v)[3] == UNLABELLED).all() and (planes(v)[1] == after[1]).all()
    ed.undo()
    assert ed.changed_planes == [1] and (planes(v) == UNLABELLED).all()
    ed.redo()
    ed.redo()
    np.testing.assert_array_equal(planes(v), after)
    assert v.plane(3).read("instance", 20, 15, 1, 1)[0, 0] == 1


def test_one_action_over_several_slices_is_one_record(tmp_path: Path) -> None:
    v = volume(tmp_path)
    ed = Editor(v, classes=CLASSES)

    def two_slices(store: LabelStore) -> Box:
        paint_rectangle(store.plane(0), Box(0, 0, 4, 4), paint=Paint(0))
        return paint_rectangle(store.plane(4), Box(30, 20, 5, 5), paint=Paint(0))

    ed.apply(two_slices)
    assert len(ed.history) == 1 and v.slice_counts().tolist() == [16, 0, 0, 0, 25]
    ed.undo()
    assert ed.changed_planes == [0, 4] and v.labelled_pixels == 0


def test_journal_replay_puts_each_record_on_its_slice(tmp_path: Path) -> None:
    live = volume(tmp_path, "live.zarr")
    journal = Journal.open(tmp_path / "j.journal")
    ed = Editor(live, classes=CLASSES, journal=journal)
    for z, (x, y) in enumerate([(5, 5), (12, 8), (30, 20), (8, 25), (20, 12)]):
        ed.set_plane(z)
        ed.apply(paint_disk, cx=x, cy=y, radius=2 + z, paint=ed.paint_for(1 if z % 2 else 0))
    ed.undo()
    journal.close()
    fresh = volume(tmp_path, "fresh.zarr")
    assert Journal.open(tmp_path / "j.journal").replay(fresh) == 6
    np.testing.assert_array_equal(planes(fresh), planes(live))
    assert fresh.slice_counts().tolist() == live.slice_counts().tolist()
    assert fresh.slice_counts()[4] == 0  # the undone stroke


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    strokes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 39), st.integers(0, 29), st.integers(1, 6)),
        min_size=1,
        max_size=6,
    ),
    undos=st.integers(0, 6),
)
def test_undo_all_then_redo_all_across_slices(
    tmp_path: Path, strokes: list[tuple[int, int, int, int]], undos: int
) -> None:
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    v = LabelStore.create(root / "v.zarr", width=40, height=30, depth=4, chunk=16)
    ed = Editor(v, classes=CLASSES)
    states = [planes(v)]
    for z, x, y, r in strokes:
        ed.set_plane(z)
        if not ed.apply(paint_disk, cx=x, cy=y, radius=r, paint=Paint(z % 2)).is_empty:
            states.append(planes(v))  # a stroke that changed nothing is no record
    n = min(undos, len(states) - 1)
    for _ in range(n):
        ed.undo()
    np.testing.assert_array_equal(planes(v), states[len(states) - 1 - n])
    for _ in range(n):
        ed.redo()
    np.testing.assert_array_equal(planes(v), states[-1])
    shutil.rmtree(root)


def test_a_lost_chunk_of_one_slice_is_found_and_forgotten(tmp_path: Path) -> None:
    v = volume(tmp_path)
    v.plane(3).write("semantic", 20, 0, np.full((4, 4), 1, np.uint8))
    v.plane(1).write("semantic", 0, 0, np.full((4, 4), 0, np.uint8))
    v.close()
    (v.path / "semantic" / "0" / "c" / "3" / "0" / "1").unlink()
    found = storecheck.inspect(v.path, had_labels=True)
    assert found is not None and found.kind == "chunks missing" and found.chunks == ((3, 0, 1),)
    assert "semantic/0/c/3/0/1" in found.detail
    again = LabelStore.open(v.path)
    again.forget_chunks(list(found.chunks))
    assert again.slice_counts().tolist() == [0, 16, 0, 0, 0]
    again.close()
    assert storecheck.inspect(v.path, had_labels=True) is None
    assert storecheck.unreadable_chunks(v.path) == []


def test_a_project_replays_unsaved_edits_onto_their_slices(tmp_path: Path) -> None:
    from segcore.project import Project

    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(tmp_path / "v.nii.gz", width=40, height=30, depth=5)
    ed = project.editor(entry.id)
    for z, x in ((0, 5), (2, 20), (4, 33)):
        ed.set_plane(z)
        ed.apply(paint_disk, cx=x, cy=15, radius=3, paint=ed.paint_for(1))
    ed.undo()  # the stroke on slice 4
    expected = planes(project.label_store(entry.id))
    project.close(save=False)  # the journal keeps all four records
    shutil.rmtree(tmp_path / "p" / "labels" / f"{entry.id}.zarr")  # as if never written
    again = Project.open(tmp_path / "p")
    store = again.label_store(entry.id)
    assert again.recovered[entry.id] == 4 and store.depth == 5
    np.testing.assert_array_equal(planes(store), expected)
    assert store.slice_counts()[[0, 2, 4]].tolist() == [29, 29, 0]
    assert again.image(entry.id).slices_text == "2 of 5 slices labelled"
    again.close()


def test_a_class_change_rewrites_every_slice_in_one_record(tmp_path: Path) -> None:
    from segcore.labels.edits.fill import map_classes

    v = volume(tmp_path)
    v.plane(1).write("semantic", 2, 2, np.full((4, 4), 0, np.uint8))
    v.plane(4).write("semantic", 30, 20, np.full((5, 5), 0, np.uint8))
    v.plane(4).write("semantic", 0, 0, np.full((3, 3), 1, np.uint8))
    editor = Editor(v.plane(2), classes=CLASSES)  # the slice on screen holds nothing
    table = np.arange(256, dtype=np.uint8)
    table[0], table[1] = 1, 0  # swap the two classes
    record = editor.apply_without_undo(map_classes, table, stuff=frozenset({0, 1}))
    assert record is not None and sorted({p.plane for p in record.patches}) == [1, 4]
    after = planes(v)
    assert (after[1, 2:6, 2:6] == 1).all() and (after[4, 20:25, 30:35] == 1).all()
    assert (after[4, 0:3, 0:3] == 0).all()
    assert (after[[0, 2, 3]] == UNLABELLED).all()
