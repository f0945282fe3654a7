"""Building blocks of the project fault tests: a project with known strokes,
byte flips, file hashes, and a child process that paints and saves until killed.

Strokes are small squares on a grid, one per committed action, never
overlapping, so after any fault each stroke is either wholly present or
wholly absent and can be checked one by one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from segcore.labels.box import Box
from segcore.labels.edits.paint import paint_rectangle
from segcore.labels.schema import make_classes
from segcore.project import Project

CLASSES = make_classes(["background", "cell"], things={"cell"})
SIDE = 256  # image size (chunks of 64: see make_project)
STEP = 12  # strokes are 6 x 6 squares on a 12-pixel grid: 21 x 21 = 441 places
PER_ROW = SIDE // STEP


def stroke_box(i: int) -> Box:
    """Where stroke ``i`` paints (class 1, its own instance)."""
    return Box(3 + (i % PER_ROW) * STEP, 3 + (i // PER_ROW) * STEP, 6, 6)


def make_project(root: Path, *, chunk: int = 64) -> Path:
    """An empty project with one 256 x 256 image 'img' whose store has 64-pixel chunks."""
    from segcore.labels.store import LabelStore

    image = root.parent / "img.png"
    root.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(b"not read: sizes are given")
    p = Project.create(root, classes=CLASSES)
    p.add_image(image, width=SIDE, height=SIDE)
    LabelStore.create(p.label_store_path("img"), width=SIDE, height=SIDE, chunk=chunk).close()
    p.close()
    return root


def paint(project: Project, strokes: range) -> None:
    """Commit one stroke per index (each a journal record, fsynced)."""
    ed = project.editor("img")
    for i in strokes:
        ed.new_instance()
        ed.apply(paint_rectangle, stroke_box(i), paint=ed.paint_for(1))


def present(project: Project, count: int) -> set[int]:
    """Indices of the strokes (of the first ``count``) whose every pixel is there."""
    store = project.label_store("img")
    found = set()
    for i in range(count):
        window = store.read_box("semantic", stroke_box(i))
        if (window == 1).all():
            found.add(i)
        else:
            assert (window == 255).all(), f"stroke {i} is half there"
    return found


def journal_path(root: Path) -> Path:
    return root / "journal" / "img.journal"


def frame_spans(path: Path) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each journal record, in order."""
    from segcore.project import frames

    found = frames.scan(path.read_bytes())
    assert found.clean and not found.torn
    return [(f.offset, f.end) for f in found.frames]


def flip(path: Path, offset: int, count: int = 4) -> bytes:
    """Invert ``count`` bytes at ``offset``; returns the damaged content."""
    data = bytearray(path.read_bytes())
    for k in range(offset, min(offset + count, len(data))):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    return bytes(data)


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> hex)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def copy_project(src: Path, dst: Path) -> Path:
    """Copy project ``src`` (and its image beside it) to ``dst``."""
    shutil.copytree(src, dst)
    shutil.copy(src.parent / "img.png", dst.parent / "img.png")
    return dst


# -- a painter to kill --------------------------------------------------------------

CRASHER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, sys.argv[3])
    from project_fault_helpers import paint
    from segcore.project import Project

    p = Project.open(sys.argv[1])
    paint(p, range(int(sys.argv[2])))
    os.kill(os.getpid(), signal.SIGKILL)  # a crash: the strokes are in the journal only
    """
)


def paint_and_crash(root: Path, count: int) -> None:
    """Commit ``count`` strokes in a child process that then dies by SIGKILL."""
    done = subprocess.run(
        [sys.executable, "-c", CRASHER, str(root), str(count), str(Path(__file__).parent)],
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.returncode


PAINTER = textwrap.dedent(
    """
    import random, sys
    sys.path.insert(0, sys.argv[3])
    from project_fault_helpers import paint
    from segcore.project import Project

    root, start = sys.argv[1], int(sys.argv[2])
    rng = random.Random(start)
    p = Project.open(root)
    print("OPEN", flush=True)
    i = start
    while True:
        paint(p, range(i, i + 1))
        print(f"ACK {i}", flush=True)
        i += 1
        if rng.random() < 0.25:
            print("SAVE", flush=True)
            p.save()
            print("SAVED", flush=True)
    """
)


def paint_until_killed(root: Path, start: int, acks: int, delay: float) -> list[int]:
    """Run a painter from stroke ``start``; SIGKILL it ``delay`` s after ``acks`` ACKs.

    Returns the strokes it acknowledged (committed: in the journal, fsynced).
    """
    child = subprocess.Popen(
        [sys.executable, "-c", PAINTER, str(root), str(start), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    acked: list[int] = []
    deadline = time.monotonic() + 120
    try:
        while len(acked) < acks and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("ACK"):
                acked.append(int(line.split()[1]))
        time.sleep(delay)  # painting, or in the middle of a save
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        # strokes acknowledged while we slept count too
        for line in child.stdout.read().splitlines():
            if line.startswith("ACK"):
                acked.append(int(line.split()[1]))
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL, child.returncode
    return acked


def strokes_np(project: Project) -> np.ndarray:
    store = project.label_store("img")
    return store.read("semantic", 0, 0, SIDE, SIDE)
