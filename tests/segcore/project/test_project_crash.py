"""No lost work: SIGKILL in the middle of a session, and a full disk while saving."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from segcore.errors import ProjectError
from segcore.labels.edits.common import Paint
from segcore.labels.edits.paint import paint_disk
from segcore.labels.schema import make_classes
from segcore.project import Project

CLASSES = make_classes(["background", "cell"], things={"cell"})

CHILD = textwrap.dedent(
    """
    import sys
    from segcore.labels.edits.paint import paint_stroke
    from segcore.project import Project

    p = Project.open(sys.argv[1])
    ed = p.editor("img")
    i = 0
    while True:
        x, y = 8 + (i % 20) * 12, 8 + (i // 20) * 12
        ed.begin("brush")
        for dx in range(0, 5):  # a short stroke of dabs
            ed.extend(paint_stroke, [(x + dx, y)], radius=2, paint=ed.paint_for(1))
        ed.commit()
        print(f"ACK {i}", flush=True)
        if i == 5:
            p.save()  # a checkpoint in the middle: later strokes come from the journal
        i += 1
    """
)


def _project(tmp_path: Path) -> Path:
    (tmp_path / "img.png").write_bytes(b"x")
    p = Project.create(tmp_path / "proj", classes=CLASSES)
    p.add_image(tmp_path / "img.png", width=256, height=256)
    p.close()
    return tmp_path / "proj"


def test_sigkill_loses_no_acknowledged_stroke(tmp_path: Path) -> None:
    root = _project(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acked = []
    assert child.stdout is not None
    deadline = time.monotonic() + 60
    while len(acked) < 25 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("ACK"):
            acked.append(int(line.split()[1]))
    os.kill(child.pid, signal.SIGKILL)  # mid-session: it is painting the next stroke
    child.wait()
    child.stdout.close()
    assert len(acked) >= 25

    project = Project.open(root)
    assert project.recovered["img"] >= len(acked) - 6  # strokes after the save, from the journal
    store = project.label_store("img")
    objects = set()
    for i in acked:
        x, y = 8 + (i % 20) * 12, 8 + (i // 20) * 12
        window = store.read("semantic", x - 2, y - 2, 9, 5)
        assert (window[2, :] == 1).all(), f"stroke {i} was acknowledged but is lost"
        objects.add(int(store.read("instance", x, y, 1, 1)[0, 0]))
    assert 0 not in objects and len(objects) == len(acked)  # strokes apart: one object each
    project.close()


def _enospc(*args: object, **kwargs: object) -> int:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_saving_keeps_the_last_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    p = Project.open(root)
    ed = p.editor("img")
    ed.apply(paint_disk, cx=20, cy=20, radius=4, paint=ed.paint_for(1))
    p.save()
    saved = (root / "project.json").read_bytes()
    p.settings["brush"] = 12  # an unsaved change to project.json
    ed.apply(paint_disk, cx=60, cy=60, radius=4, paint=Paint(0))

    with monkeypatch.context() as m:
        m.setattr(os, "write", _enospc)
        with pytest.raises(ProjectError) as err:
            p.save()
    assert str(err.value) == (
        f"disk full while saving {root / 'project.json'}; free space and save again; "
        "your last save is intact"
    )
    assert (root / "project.json").read_bytes() == saved
    assert json.loads(saved)["settings"] == {}
    assert not [f for f in os.listdir(root) if f.endswith(".tmp")]

    p.close(save=False)
    again = Project.open(root)
    store = again.label_store("img")
    assert store.read("semantic", 20, 20, 1, 1)[0, 0] == 1
    assert store.read("semantic", 60, 60, 1, 1)[0, 0] == 0


def test_disk_full_while_flushing_labels_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zarr.storage._local as zarr_local

    root = _project(tmp_path)
    p = Project.open(root)
    ed = p.editor("img")
    ed.apply(paint_disk, cx=100, cy=100, radius=6, paint=ed.paint_for(1))
    with monkeypatch.context() as m:
        m.setattr(zarr_local, "_put", _enospc)
        with pytest.raises(ProjectError, match=r"disk full while saving .*img\.zarr; free space"):
            p.save()
    assert (root / "journal" / "img.journal").stat().st_size > 8  # not emptied
    p.close(save=False)
    store = Project.open(root).label_store("img")
    assert store.read("semantic", 100, 100, 1, 1)[0, 0] == 1


def test_disk_full_while_journalling_refuses_the_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    p = Project.open(root)
    ed = p.editor("img")
    ed.apply(paint_disk, cx=30, cy=30, radius=3, paint=Paint(0))
    journal = root / "journal" / "img.journal"
    size = journal.stat().st_size
    with monkeypatch.context() as m:
        m.setattr(os, "pwrite", _enospc)
        with pytest.raises(ProjectError, match="disk full while writing the journal"):
            ed.apply(paint_disk, cx=200, cy=200, radius=3, paint=Paint(0))
    assert journal.stat().st_size == size
    store = p.label_store("img")
    assert store.read("semantic", 200, 200, 1, 1)[0, 0] == 255  # rolled back on screen too
    assert np.array_equal(store.read("semantic", 29, 30, 3, 1), [[0, 0, 0]])
    p.close(save=False)
