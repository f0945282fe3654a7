"""Faults in a project's files: every committed stroke survives what can be survived,
and what cannot is reported, never silently dropped or recreated empty.

Byte flips in the journal (many positions; every position by hand), torn
journal tails, byte flips in label chunks, deleted chunks and stores, a
deleted lock file while another process holds the project, kill -9 at random
moments of painting and saving. The long campaigns are ``byhand``; their
figures are in docs/reliability.md.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from project_fault_helpers import (
    copy_project,
    digest,
    flip,
    frame_spans,
    journal_path,
    make_project,
    paint,
    paint_and_crash,
    paint_until_killed,
    present,
)

from segcore.errors import LabelError, ProjectError
from segcore.project import Project

STROKES = 40


@pytest.fixture(scope="module")
def journalled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose journal holds 40 strokes, and its labels none: a crash after them."""
    root = make_project(tmp_path_factory.mktemp("journalled") / "proj")
    paint_and_crash(root, STROKES)
    return root


def _open_damaged(journalled: Path, tmp_path: Path, offset: int, count: int = 4) -> tuple:
    root = copy_project(journalled, tmp_path / "proj")
    damaged = flip(journal_path(root), offset, count)
    p = Project.open(root)
    return root, damaged, p


# -- the journal --------------------------------------------------------------------


@pytest.mark.parametrize("where", ["middle", "offset 100"])
def test_a_bad_record_costs_one_stroke_not_the_rest(
    journalled: Path, tmp_path: Path, where: str
) -> None:
    """Issue #13: flipping 4 bytes mid-journal lost 20 of 40 strokes; at offset 100, all 40."""
    size = journal_path(journalled).stat().st_size
    offset = size // 2 if where == "middle" else 100
    root, damaged, p = _open_damaged(journalled, tmp_path, offset)
    kept = present(p, STROKES)
    assert len(kept) == STROKES - 1, f"{STROKES - len(kept)} strokes lost"
    recovery = p.recovery["img"]
    assert (recovery.replayed, recovery.lost) == (STROKES - 1, 1)
    assert recovery.backup is not None and recovery.backup.read_bytes() == damaged
    assert "39 edit(s)" in p.report()[0] and "1 could not be read" in p.report()[0]
    p.close(save=False)
    again = Project.open(root)  # salvaged once: the journal is clean now
    assert again.recovery["img"].lost == 0 and again.recovery["img"].backup is None
    assert present(again, STROKES) == kept
    again.close()


def test_byte_flips_anywhere_lose_only_the_records_they_hit(
    journalled: Path, tmp_path: Path
) -> None:
    spans = frame_spans(journal_path(journalled))
    size = journal_path(journalled).stat().st_size
    rng = random.Random(13)
    offsets = [0, 5, 8, 9, 20, spans[1][0], spans[-1][0] + 2, size - 4, size - 1]
    offsets += rng.sample(range(size), 15)
    for n, offset in enumerate(offsets):
        root, _, p = _open_damaged(journalled, tmp_path / str(n), offset)
        hit = {i for i, (a, b) in enumerate(spans) if a < offset + 4 and offset < b}
        kept = present(p, STROKES)
        assert kept == set(range(STROKES)) - hit, f"flip at {offset}: lost {hit ^ kept}"
        assert p.recovery["img"].lost == len(hit), offset
        p.close(save=False)


def test_a_torn_tail_is_dropped_silently(journalled: Path, tmp_path: Path) -> None:
    spans = frame_spans(journal_path(journalled))
    last = spans[-1]
    for n, cut in enumerate([last[0] + 1, last[0] + 19, (last[0] + last[1]) // 2, last[1] - 1]):
        root = copy_project(journalled, tmp_path / str(n))
        path = journal_path(root)
        path.write_bytes(path.read_bytes()[:cut])  # a crash in the middle of the last append
        p = Project.open(root)
        assert present(p, STROKES) == set(range(STROKES - 1))
        assert p.recovery["img"].lost == 0 and p.recovery["img"].backup is None
        assert not list(path.parent.glob("*.damaged-*"))
        p.close(save=False)


# -- the label store ----------------------------------------------------------------


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    """A saved project: strokes 0..4 in chunk (0, 0), 352..356 in chunk (3, 3)."""
    root = make_project(tmp_path / "proj")
    p = Project.open(root)
    paint(p, range(5))
    paint(p, range(352, 357))
    p.close()
    return root


def _chunk(root: Path, layer: str, cy: int, cx: int) -> Path:
    return root / "labels" / "img.zarr" / layer / "0" / "c" / str(cy) / str(cx)


def test_a_deleted_chunk_is_reported_never_recreated(saved: Path) -> None:
    _chunk(saved, "semantic", 3, 3).unlink()
    before = digest(saved / "labels")
    p = Project.open(saved)
    with pytest.raises(ProjectError) as err:
        p.label_store("img")  # today: recreated empty without a word
    text = str(err.value)
    assert "img.png" in text and "missing" in text and "semantic/0/c/3/3" in text
    assert "restore" in text and f"tessera project accept-loss {saved} img" in text
    assert [d.kind for d in p.damage.values()] == ["chunks missing"]
    p.close()  # saving touches nothing of a damaged image
    assert digest(saved / "labels") == before

    p = Project.open(saved)
    note = p.accept_loss("img")
    assert "accepted the loss" in note
    assert present(p, 357) == set(range(5))  # chunk (0, 0) intact, (3, 3) unlabelled
    p.close()
    again = Project.open(saved)
    assert again.damage == {} and again.report() == []
    again.close()


def test_a_deleted_store_is_reported(saved: Path) -> None:
    import shutil

    shutil.rmtree(saved / "labels" / "img.zarr")
    p = Project.open(saved)
    assert p.damage["img"].kind == "store missing"
    with pytest.raises(ProjectError, match="label store is missing.*accept-loss"):
        p.label_store("img")
    assert not (saved / "labels" / "img.zarr").exists()  # not recreated
    p.accept_loss("img")
    assert present(p, 357) == set()
    p.close()


def test_byte_flips_in_a_chunk_are_found_not_misread(saved: Path) -> None:
    chunk = _chunk(saved, "semantic", 3, 3)
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x10
    chunk.write_bytes(bytes(data))
    p = Project.open(saved)
    with pytest.raises(LabelError, match=r"semantic/0/c/3/3 cannot be read"):
        p.label_store("img").read("semantic", 200, 200, 1, 1)  # refused, never wrong labels
    p.close(save=False)
    p = Project.open(saved)
    damage = p.check(deep=True)
    assert [d.kind for d in damage] == ["chunks unreadable"]
    assert "semantic/0/c/3/3" in damage[0].detail
    p.accept_loss("img")
    assert present(p, 357) == set(range(5))
    assert list((saved / "damaged").rglob("semantic/0/c/3/3"))  # kept aside, not deleted
    p.close()


# -- the lock -----------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from project_fault_helpers import paint
    from segcore.project import Project

    p = Project.open(sys.argv[1])
    print("OPEN", flush=True)
    sys.stdin.readline()
    paint(p, range(20, 25))
    p.close()
    print("SAVED", flush=True)
    """
)


def test_a_deleted_lock_file_lets_no_second_writer_in(saved: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(saved), str(Path(__file__).parent)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "OPEN"
        (saved / ".lock").unlink()
        with pytest.raises(ProjectError, match="already open in another"):
            Project.open(saved)  # today: opens, and the holder's save later discards its work
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "SAVED"
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    p = Project.open(saved)
    assert present(p, 357) == set(range(5)) | set(range(20, 25)) | set(range(352, 357))
    p.close()


# -- kill -9 --------------------------------------------------------------------------


def _kill_campaign(root: Path, kills: int, seed: int) -> int:
    """Paint and save in a child, kill it at random moments, check after each kill."""
    rng = random.Random(seed)
    committed: set[int] = set()
    start = 0
    for _ in range(kills):
        acked = paint_until_killed(root, start, rng.randint(1, 12), rng.uniform(0, 0.05))
        committed |= set(acked)
        start = max(committed) + 1 if committed else start
        p = Project.open(root)
        lost = committed - present(p, start)
        assert not lost, f"committed strokes lost after kill -9: {sorted(lost)}"
        assert not list(root.glob(".project.json.*.tmp"))  # litter of a killed save, removed
        p.close(save=False)
        start = min(start, 420)
    return len(committed)


def test_kill_9_while_painting_and_saving_loses_no_committed_stroke(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    assert _kill_campaign(root, kills=3, seed=1) >= 3


def test_litter_of_a_killed_save_is_removed_on_open(saved: Path) -> None:
    (saved / ".project.json.12345.tmp").write_text("{half a proj")
    (saved / "labels" / "img2.zarr.creating").mkdir()
    Project.open(saved).close()
    assert not (saved / ".project.json.12345.tmp").exists()
    assert not (saved / "labels" / "img2.zarr.creating").exists()


# -- by hand: the long campaigns -----------------------------------------------------


@pytest.mark.byhand
def test_campaign_byte_flips_at_every_offset(journalled: Path, tmp_path: Path) -> None:
    spans = frame_spans(journal_path(journalled))
    size = journal_path(journalled).stat().st_size
    lost_total = 0
    for offset in range(0, size, 3):
        root, _, p = _open_damaged(journalled, tmp_path / str(offset), offset, count=1)
        hit = {i for i, (a, b) in enumerate(spans) if a <= offset < b}
        assert present(p, STROKES) == set(range(STROKES)) - hit, offset
        assert p.recovery["img"].lost == len(hit)
        lost_total += len(hit)
        p.close(save=False)
        import shutil

        shutil.rmtree(tmp_path / str(offset))
    print(
        f"\nflips at {len(range(0, size, 3))} offsets of a {size}-byte journal: "
        f"{lost_total} strokes lost in all, each one the record hit"
    )


@pytest.mark.byhand
def test_campaign_kill_9(tmp_path: Path) -> None:
    kills = int(os.environ.get("TESSERA_KILLS", "100"))
    root = make_project(tmp_path / "proj")
    committed = _kill_campaign(root, kills=kills, seed=2)
    print(f"\n{kills} kills, {committed} committed strokes, none lost")


def test_project_cli_check_and_accept(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from segcore.cli import main

    assert main(["project", "check", str(saved)]) == 0
    assert "labels are whole" in capsys.readouterr().out
    _chunk(saved, "semantic", 0, 0).unlink()
    assert main(["project", "check", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "semantic/0/c/0/0" in out and "accept-loss" in out
    assert (
        main(["export", "--project", str(saved), "-f", "png", "--out", str(saved.parent / "o")])
        == 2
    )
    assert "accept-loss" in capsys.readouterr().err
    assert main(["project", "accept-loss", str(saved), "img"]) == 0
    assert "accepted the loss" in capsys.readouterr().out
    assert main(["project", "check", "--deep", str(saved)]) == 0
    p = Project.open(saved)
    assert present(p, 357) == set(range(352, 357))
    p.close()
