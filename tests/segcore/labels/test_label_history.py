"""Undo/redo: property test over random edit sequences, strokes as one record, memory cap."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_helpers import StoreFactory, maps

from segcore.errors import LabelError, ProjectError
from segcore.labels.box import Box
from segcore.labels.editor import Editor
from segcore.labels.edits.common import ERASE, Paint
from segcore.labels.edits.fill import flood_fill, relabel_class
from segcore.labels.edits.instances import delete_instance, merge_instances, split_instance
from segcore.labels.edits.paint import paint_disk, paint_polygon, paint_rectangle, paint_stroke
from segcore.labels.history import Record
from segcore.labels.schema import make_classes
from segcore.labels.store import LabelStore

CLASSES = make_classes(["bg", "cell", "road"], things={"cell"})
W, H = 21, 13

coords = st.tuples(st.integers(-2, W + 1), st.integers(-2, H + 1))
paints = st.sampled_from([Paint(0), Paint(1, 1), Paint(1, 2), Paint(2), ERASE])
edits = st.one_of(
    st.tuples(st.just("disk"), coords, st.integers(0, 4), paints),
    st.tuples(
        st.just("stroke"), st.lists(coords, min_size=1, max_size=4), st.integers(0, 2), paints
    ),
    st.tuples(st.just("poly"), st.lists(coords, min_size=3, max_size=5), paints),
    st.tuples(st.just("rect"), coords, coords, paints),
    st.tuples(st.just("fill"), coords, paints),
    st.tuples(st.just("relabel"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("merge"), st.just(0)),
    st.tuples(st.just("delete"), st.integers(1, 2)),
    st.tuples(st.just("split"), st.lists(coords, min_size=2, max_size=3)),
)


def _run(ed: Editor, edit: tuple) -> None:  # type: ignore[type-arg]
    kind = edit[0]
    if kind == "disk":
        (x, y), r, p = edit[1:]
        ed.apply(paint_disk, cx=x, cy=y, radius=r, paint=p)
    elif kind == "stroke":
        pts, r, p = edit[1:]
        ed.begin("stroke")  # dab by dab, as the GUI does, then one commit
        for pt in pts:
            ed.extend(paint_stroke, [pt], radius=r, paint=p)
        ed.commit()
    elif kind == "poly":
        ed.apply(paint_polygon, edit[1], paint=edit[2])
    elif kind == "rect":
        (x0, y0), (x1, y1), p = edit[1:]
        ed.apply(
            paint_rectangle,
            Box.from_bounds(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
            paint=p,
        )
    elif kind == "fill":
        (x, y), p = edit[1:]
        if 0 <= x < W and 0 <= y < H:
            ed.apply(flood_fill, x, y, paint=p)
    elif kind == "relabel":
        ed.apply(relabel_class, edit[1], edit[2])
    elif kind == "merge":
        ed.apply(merge_instances, [1, 2])
    elif kind == "delete":
        ed.apply(delete_instance, edit[1])
    elif kind == "split":
        ed.apply(split_instance, 1, edit[1], box=Box(0, 0, W, H))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(edits, min_size=1, max_size=8), st.integers(0, 3))
def test_undo_all_restores_and_redo_all_replays(tmp_path: Path, sequence: list, seed: int) -> None:  # type: ignore[type-arg]
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "h.zarr"  # examples may repeat
    store = LabelStore.create(path, width=W, height=H, chunk=8, overview_limit=4)
    rng = np.random.default_rng(seed)  # a non-empty starting map
    store.write("semantic", 0, 0, rng.choice([0, 1, 255], (H, W)).astype(np.uint8))
    store.write("instance", 0, 0, rng.integers(0, 3, (H, W)).astype(np.uint32))
    start = [maps(store, k) for k in range(store.level_count)]
    ed = Editor(store, classes=CLASSES)
    for edit in sequence:
        _run(ed, edit)
    final = [maps(store, k) for k in range(store.level_count)]
    while ed.undo() is not None:
        pass
    for want, got in zip(start, [maps(store, k) for k in range(store.level_count)], strict=True):
        np.testing.assert_array_equal(want[0], got[0])
        np.testing.assert_array_equal(want[1], got[1])
    assert store.labelled_pixels == np.count_nonzero(start[0][0] != 255)
    while ed.redo() is not None:
        pass
    for want, got in zip(final, [maps(store, k) for k in range(store.level_count)], strict=True):
        np.testing.assert_array_equal(want[0], got[0])
        np.testing.assert_array_equal(want[1], got[1])
    # progress counts are kept by deltas: they must still match a full count
    assert store.labelled_pixels == np.count_nonzero(final[0][0] != 255)


def test_stroke_of_1000_dabs_is_one_small_record(tmp_path: Path) -> None:
    store = LabelStore.create(tmp_path / "big.zarr", width=20_000, height=20_000, chunk=256)
    ed = Editor(store, classes=CLASSES)
    ed.begin("brush")
    for i in range(1000):  # a diagonal across 4,000 px: union box is 4000x4000
        ed.extend(paint_disk, cx=1000 + 4 * i, cy=1000 + 4 * i, radius=6, paint=Paint(2))
    box = ed.commit()
    assert box == Box(994, 994, 4009, 4009)  # first dab at 1000 - 6, last at 4996 + 6
    assert len(ed.history) == 1
    assert ed.history.nbytes < 2_000_000  # not 4000 x 4000 x 5 bytes
    assert ed.undo() == box
    assert store.labelled_pixels == 0
    assert ed.redo() == box and store.labelled_pixels > 40_000


def test_memory_cap_drops_oldest(new_store: StoreFactory) -> None:
    store = new_store(16, 16)
    ed = Editor(store, classes=CLASSES, history_bytes=1)
    ed.apply(paint_disk, cx=3, cy=3, radius=2, paint=Paint(0))
    ed.apply(paint_disk, cx=9, cy=9, radius=2, paint=Paint(2))
    assert len(ed.history) == 0 and ed.undo() is None  # each record alone exceeds the cap
    ed.history.max_bytes = 10_000
    ed.apply(paint_disk, cx=12, cy=3, radius=2, paint=Paint(2))
    ed.apply(paint_disk, cx=3, cy=12, radius=2, paint=Paint(2))
    assert len(ed.history) == 2


def test_editor_instances_and_strokes(new_store: StoreFactory) -> None:
    store = new_store(16, 16)
    ed = Editor(store, classes=CLASSES)
    p = ed.paint_for(1)  # thing: starts instance 1
    assert p == Paint(1, 1) and ed.paint_for(1) == Paint(1, 1)
    assert ed.paint_for(2) == Paint(2, 0) and ed.paint_for(255) == ERASE
    ed.apply(paint_disk, cx=3, cy=3, radius=1, paint=p)
    assert ed.new_instance() == 2 and ed.paint_for(1) == Paint(1, 2)
    assert ed.select(3, 3) == (1, 1) and ed.current_instance == 1
    two = Editor(store, classes=make_classes(["cell", "nucleus"], things={"cell", "nucleus"}))
    assert two.paint_for(0) == Paint(0, 3) and two.paint_for(0) == Paint(0, 3)
    assert two.paint_for(1) == Paint(1, 4)  # another thing class: a new instance
    with pytest.raises(LabelError, match="not one of"):
        ed.paint_for(9)
    ed.begin("brush")
    ed.extend(paint_disk, cx=10, cy=10, radius=2, paint=Paint(2))
    with pytest.raises(LabelError, match="still open"):
        ed.begin("other")
    with pytest.raises(LabelError, match="being drawn"):
        ed.undo()
    assert ed.cancel() == Box(8, 8, 8, 8)
    assert store.read("semantic", 10, 10, 1, 1)[0, 0] == 255 and len(ed.history) == 1
    assert ed.apply(paint_disk, cx=40, cy=40, radius=1, paint=Paint(2)).is_empty
    assert len(ed.history) == 1  # nothing changed, nothing recorded


class _FullJournal:
    def __init__(self) -> None:
        self.records: list[Record] = []
        self.full = False

    def append(self, record: Record) -> None:
        if self.full:
            raise ProjectError("disk full while writing the journal j; your last save is intact")
        self.records.append(record)


def test_journal_failure_rolls_the_edit_back(new_store: StoreFactory) -> None:
    store = new_store(16, 16)
    journal = _FullJournal()
    ed = Editor(store, classes=CLASSES, journal=journal)
    ed.apply(paint_disk, cx=3, cy=3, radius=2, paint=Paint(0))
    before = maps(store)
    journal.full = True
    with pytest.raises(ProjectError, match="disk full"):
        ed.apply(paint_rectangle, Box(0, 0, 16, 16), paint=Paint(2))
    with pytest.raises(ProjectError, match="disk full"):
        ed.undo()
    for a, b in zip(before, maps(store), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(ed.history) == 1 and not ed.can_redo and len(journal.records) == 1
    journal.full = False
    assert ed.undo() is not None and len(journal.records) == 2


def test_open_stroke_never_reaches_disk_and_huge_actions_compress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segcore.labels.history as history

    monkeypatch.setattr(history, "RAW_BYTES", 1)  # compress every chunk copy at once
    # 64 chunks of 320 bytes; the stroke pins 22 of them (7 KB), more than the cap
    store = LabelStore.create(tmp_path / "s.zarr", width=64, height=64, chunk=8, cache_bytes=5000)
    ed = Editor(store, classes=CLASSES)
    ed.apply(paint_rectangle, Box(40, 0, 24, 24), paint=Paint(0))
    before = maps(store)
    ed.begin("brush")
    for i in range(60):  # crosses 8 chunks while the cache holds almost nothing
        ed.extend(paint_disk, cx=i, cy=i, radius=3, paint=Paint(2))
    on_disk = LabelStore.open(store.path, read_only=True)
    assert on_disk.labelled_pixels == 0 and not (maps(on_disk)[0] == 2).any()
    box = ed.commit()
    assert box == Box(0, 0, 63, 63)  # dabs at 0..59, radius 3, clipped at 0
    after = maps(store)
    assert store.write_back(10.0) == 0
    assert (maps(LabelStore.open(store.path, read_only=True))[0] == after[0]).all()
    ed.undo()
    for a, b in zip(before, maps(store), strict=True):
        np.testing.assert_array_equal(a, b)
