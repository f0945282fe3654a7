"""The journal: records survive, torn tails are cut, replay is idempotent, bad files refused."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcore.errors import ProjectError
from segcore.labels.editor import Editor
from segcore.labels.edits.common import Paint
from segcore.labels.edits.paint import paint_disk
from segcore.labels.schema import make_classes
from segcore.labels.store import LabelStore
from segcore.project.journal import MAGIC, Journal

CLASSES = make_classes(["a", "b"], things={"b"})


def _maps(s: LabelStore) -> tuple[np.ndarray, np.ndarray]:
    return s.read("semantic", 0, 0, s.width, s.height), s.read("instance", 0, 0, s.width, s.height)


def test_replay_rebuilds_the_edits(tmp_path: Path) -> None:
    live = LabelStore.create(tmp_path / "live.zarr", width=40, height=30, chunk=16)
    journal = Journal.open(tmp_path / "j.journal")
    ed = Editor(live, classes=CLASSES, journal=journal)
    ed.apply(paint_disk, cx=10, cy=10, radius=5, paint=ed.paint_for(1))
    ed.apply(paint_disk, cx=14, cy=12, radius=5, paint=Paint(0))
    ed.undo()
    ed.apply(paint_disk, cx=30, cy=20, radius=8, paint=ed.paint_for(1))
    assert len(list(journal.records())) == 4  # three edits and one undo
    journal.close()

    fresh = LabelStore.create(tmp_path / "fresh.zarr", width=40, height=30, chunk=16)
    again = Journal.open(tmp_path / "j.journal")
    assert again.replay(fresh) == 4
    assert again.replay(fresh) == 4  # idempotent
    for a, b in zip(_maps(live), _maps(fresh), strict=True):
        np.testing.assert_array_equal(a, b)
    assert fresh.max_instance == 1
    again.checkpoint()
    assert again.empty and os.path.getsize(tmp_path / "j.journal") == len(MAGIC)


def test_torn_tail_is_cut(tmp_path: Path) -> None:
    store = LabelStore.create(tmp_path / "s.zarr", width=20, height=20, chunk=16)
    journal = Journal.open(tmp_path / "j.journal")
    ed = Editor(store, classes=CLASSES, journal=journal)
    ed.apply(paint_disk, cx=5, cy=5, radius=2, paint=Paint(0))
    ed.apply(paint_disk, cx=15, cy=15, radius=2, paint=Paint(0))
    journal.close()
    path = tmp_path / "j.journal"
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])  # a crash in the middle of the second append
    cut = Journal.open(path)
    assert len(list(cut.records())) == 1
    assert path.stat().st_size < len(whole) - 7  # the partial record was removed
    data = bytearray(whole)
    data[len(MAGIC) + 20] ^= 0xFF  # a flipped bit in the first record
    path.write_bytes(bytes(data))
    assert list(Journal.open(path).records()) == []


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    path.write_bytes(b"something else entirely")
    with pytest.raises(ProjectError, match="not a Tessera journal"):
        Journal.open(path)
    assert path.read_bytes() == b"something else entirely"


actions = st.lists(
    st.tuples(
        st.sampled_from(["paint", "paint", "undo", "redo"]),
        st.integers(0, 39),
        st.integers(0, 29),
        st.integers(0, 6),
        st.sampled_from([0, 1]),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions)
def test_replay_equals_the_live_session(tmp_path: Path, steps: list) -> None:  # type: ignore[type-arg]
    run = Path(tempfile.mkdtemp(dir=tmp_path))  # examples may repeat: a fresh folder each
    live = LabelStore.create(run / "live.zarr", width=40, height=30, chunk=16, overview_limit=8)
    journal = Journal.open(run / "j.journal")
    ed = Editor(live, classes=CLASSES, journal=journal)
    for kind, x, y, r, cls in steps:
        if kind == "paint":
            ed.apply(paint_disk, cx=x, cy=y, radius=r, paint=ed.paint_for(cls))
        elif kind == "undo":
            ed.undo()
        else:
            ed.redo()
    journal.close()
    fresh = LabelStore.create(run / "fresh.zarr", width=40, height=30, chunk=16, overview_limit=8)
    Journal.open(run / "j.journal").replay(fresh)
    for level in range(live.level_count):
        w, h = live.level_size(level)
        for layer in ("semantic", "instance"):
            np.testing.assert_array_equal(
                live.read(layer, 0, 0, w, h, level=level),
                fresh.read(layer, 0, 0, w, h, level=level),
            )
