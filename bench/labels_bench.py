"""Label editing on a huge map: brush latency, undo, journal cost, memory.

Run by hand (not in CI)::

    uv run python bench/labels_bench.py --size 50000

Reports, on a ``size x size`` label store inside a real project (journal on):
one brush dab applied to the store with its overviews updated (p50/p95, wall
clock and CPU time of the calling thread), undo/redo of a 1,000-dab stroke,
the journal's cost per committed stroke, and the process RSS while strokes are
painted across the whole image.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from segcore.labels.edits.common import Paint
from segcore.labels.edits.paint import paint_disk, paint_stroke
from segcore.labels.history import Record
from segcore.labels.schema import make_classes
from segcore.project import Project
from segcore.project.journal import Journal


class TimedJournal:
    """Wraps the project journal to time each append (write + fsync)."""

    def __init__(self, inner: Journal) -> None:
        self.inner = inner
        self.seconds: list[float] = []
        self.bytes: list[int] = []

    def append(self, record: Record) -> None:
        before = self.inner.nbytes
        t = time.perf_counter()
        self.inner.append(record)
        self.seconds.append(time.perf_counter() - t)
        self.bytes.append(self.inner.nbytes - before)


class Timings:
    """Wall-clock and calling-thread CPU time of calls, by name."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn(*args, **kwargs)
        self.wall.setdefault(name, []).append(time.perf_counter() - t0)
        self.cpu.setdefault(name, []).append(time.thread_time() - c0)
        return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=50_000)
    ap.add_argument("--radius", type=float, default=16.0)
    ap.add_argument("--strokes", type=int, default=6, help="1,000-dab strokes to time")
    ap.add_argument("--rows", type=int, default=20, help="strokes across the image for RSS")
    ap.add_argument("--dir", type=Path, default=None, help="where to put the project")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(dir=args.dir))
    proc = psutil.Process()
    try:
        (base / "image.tif").write_bytes(b"")
        project = Project.create(
            base / "proj", classes=make_classes(["background", "cell"], things={"cell"})
        )
        t0 = time.perf_counter()
        project.add_image(base / "image.tif", width=args.size, height=args.size)
        ed = project.editor("image")
        create_s = time.perf_counter() - t0
        journal = TimedJournal(project._journals["image"])
        ed.journal = journal
        store = ed.store
        rss0 = proc.memory_info().rss

        # 1. dabs inside strokes (what the canvas does while the mouse moves)
        t = Timings()
        rng = np.random.default_rng(0)
        for _ in range(args.strokes):
            x, y = (float(v) for v in rng.integers(2000, args.size - 6000, 2))
            ed.begin("brush")
            prev = (x, y)
            for i in range(1000):  # 1,000 dabs, 4 px apart, gently curving
                cur = (x + 4 * i, y + 300 * np.sin(i / 80))
                p = ed.paint_for(1)
                t.run("dab", ed.extend, paint_stroke, [prev, cur], radius=args.radius, paint=p)
                prev = cur
            t.run("commit", ed.commit)
            t.run("undo", ed.undo)
            t.run("redo", ed.redo)
            ed.new_instance()
        stroke_journal = list(journal.seconds)
        stroke_bytes = list(journal.bytes[::3])  # commit records (not undo/redo)

        # 2. a single click-dab as its own action (includes the fsynced journal record)
        # at random places all over the image, with and without idle write-back
        # between clicks (the GUI calls Editor.idle from a timer)
        for k in range(400):
            cx, cy = (float(v) for v in rng.integers(0, args.size, 2))
            name = "click_idle" if k >= 200 else "click"
            t.run(name, ed.apply, paint_disk, cx=cx, cy=cy, radius=args.radius, paint=Paint(0))
            if k >= 200:
                ed.idle(0.2)

        # 3. strokes across the whole image: RSS must stay bounded
        rss: list[int] = []
        t_rows = time.perf_counter()
        step = args.size / args.rows
        for r in range(args.rows):
            y = step * (r + 0.5)
            xs = np.arange(0, args.size, 64.0)
            if r % 2:
                xs = xs[::-1]
            ed.begin("brush")
            prev = (float(xs[0]), y)
            for xv in xs[1:]:
                cur = (float(xv), y)
                ed.extend(paint_stroke, [prev, cur], radius=args.radius, paint=Paint(0))
                prev = cur
            ed.commit()
            ed.idle(0.2)  # the pause between two strokes
            rss.append(proc.memory_info().rss)
        rows_s = time.perf_counter() - t_rows
        t0 = time.perf_counter()
        project.save()
        save_s = time.perf_counter() - t0
        labelled = store.labelled_fraction
        history_bytes = ed.history.nbytes
        project.close(save=False)
        disk = sum(f.stat().st_size for f in (base / "proj").rglob("*") if f.is_file())
    finally:
        shutil.rmtree(base, ignore_errors=True)

    mib = 1024 * 1024
    print(
        f"label map {args.size} x {args.size}, brush radius {args.radius:g} px, "
        f"{store.level_count} levels, chunk {store.chunk}"
    )
    print(
        f"create + open store: {create_s * 1000:.0f} ms; load average {os.getloadavg()} "
        f"on {os.cpu_count()} CPUs"
    )
    print()
    print("| measure (ms) | wall p50 | wall p95 | wall max | CPU p50 | CPU p95 |")
    print("|---|---|---|---|---|---|")
    for key, label in (
        ("dab", "one dab inside a stroke: store + overviews (+ undo snapshot)"),
        ("click", "click-dab anywhere as its own action, incl. journal fsync"),
        ("click_idle", "same, with idle write-back between clicks"),
        ("commit", "commit of a 1,000-dab stroke (diff, compress, journal fsync)"),
        ("undo", "undo of a 1,000-dab stroke"),
        ("redo", "redo of a 1,000-dab stroke"),
    ):
        w, c = t.wall[key], t.cpu[key]
        print(
            f"| {label} | {pct(w, 50):.2f} | {pct(w, 95):.2f} | {pct(w, 100):.1f} | "
            f"{pct(c, 50):.2f} | {pct(c, 95):.2f} |"
        )
    print(
        f"| journal append + fsync alone, per stroke | {pct(stroke_journal, 50):.2f} | "
        f"{pct(stroke_journal, 95):.2f} | {pct(stroke_journal, 100):.1f} | | |"
    )
    print()
    print(f"journal record per 1,000-dab stroke: {np.median(stroke_bytes) / 1024:.0f} KiB (median)")
    print(
        f"painting {args.rows} strokes across the full width ({rows_s:.0f} s, "
        f"{labelled * 100:.2f} % labelled): RSS before {rss0 / mib:.0f} MiB, "
        f"after first row {rss[0] / mib:.0f} MiB, max {max(rss) / mib:.0f} MiB, "
        f"last {rss[-1] / mib:.0f} MiB"
    )
    print(
        f"save (flush + fsync + journal checkpoint): {save_s:.1f} s; project on disk "
        f"{disk / 1024:.0f} KiB; undo history held {history_bytes / mib:.1f} MiB"
    )


if __name__ == "__main__":
    main()
