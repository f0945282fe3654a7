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
from segcore.labels.box import Box
from segcore.labels.editor import Editor
from segcore.labels.edits.common import Paint
from segcore.labels.edits.paint import paint_disk
from segcore.labels.history import Patch
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
    assert fresh.max_instance == 2  # the far disk is an object of its own
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
    assert cut.salvage.torn_bytes > 0 and not cut.salvage.damaged  # dropped silently
    assert not list(tmp_path.glob("j.journal.damaged-*"))
    cut.close()


def test_damage_in_the_middle_is_stepped_over(tmp_path: Path) -> None:
    store = LabelStore.create(tmp_path / "s.zarr", width=20, height=20, chunk=16)
    journal = Journal.open(tmp_path / "j.journal")
    ed = Editor(store, classes=CLASSES, journal=journal)
    ed.apply(paint_disk, cx=5, cy=5, radius=2, paint=Paint(0))
    ed.apply(paint_disk, cx=15, cy=15, radius=2, paint=Paint(0))
    journal.close()
    path = tmp_path / "j.journal"
    data = bytearray(path.read_bytes())
    data[len(MAGIC) + 30] ^= 0xFF  # a flipped bit in the first record
    path.write_bytes(bytes(data))
    again = Journal.open(path)
    records = list(again.records())
    assert [r.box for r in records] == [Box(13, 13, 5, 5)]  # the second stroke is kept
    assert again.salvage.lost == 1 and again.salvage.records == 1
    backup = again.salvage.backup
    assert backup is not None and backup.read_bytes() == bytes(data)  # kept as it was
    again.close()
    third = Journal.open(path)  # the rewritten journal is clean: nothing more to report
    assert third.salvage.lost == 0 and third.salvage.backup is None
    assert len(list(third.records())) == 1
    third.close()


def test_format_1_journals_are_still_read(tmp_path: Path) -> None:
    import struct
    import zlib

    from segcore.labels.history import Record, pack
    from segcore.project.journal import encode_record

    def v1(record: Record) -> bytes:
        payload = encode_record(record)
        return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload

    def rec(x: int) -> Record:
        blob = pack(np.full((2, 2), 1, np.uint8), np.zeros((2, 2), np.uint32))
        return Record("paint", (Patch(Box(x, 0, 2, 2), b"", blob),), 0)

    path = tmp_path / "old.journal"
    frames = [v1(rec(x)) for x in (0, 4, 8, 12)]
    bad = bytearray(frames[1])
    bad[3] ^= 0x40  # its length field
    path.write_bytes(b"TSRJNL1\n" + frames[0] + bytes(bad) + frames[2] + frames[3][:-3])
    journal = Journal.open(path)
    assert [r.box.x for r in journal.records()] == [0, 8]  # resynchronised; torn tail dropped
    assert journal.salvage.upgraded and journal.salvage.lost == 1
    assert path.read_bytes()[:8] == MAGIC  # rewritten in format 2
    store = LabelStore.create(tmp_path / "s.zarr", width=20, height=4, chunk=16)
    assert journal.replay(store) == 2
    assert (
        store.read("semantic", 0, 0, 10, 2) == [[1, 1, 255, 255, 255, 255, 255, 255, 1, 1]] * 2
    ).all()
    journal.close()


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    path.write_bytes(b"something else entirely")
    with pytest.raises(ProjectError, match="not a Tessera journal"):
        Journal.open(path)
    assert path.read_bytes() == b"something else entirely"
    (tmp_path / "k.journal").write_bytes(MAGIC[:5])  # its creation was cut short
    fresh = Journal.open(tmp_path / "k.journal")
    assert fresh.empty
    fresh.close()


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
