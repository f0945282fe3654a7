"""Annotation GUI benchmark: brush dabs on a 50k x 50k label store, through the real window.

Run by hand (offscreen; needs no display)::

    uv run python bench/annotate_gui_bench.py
    uv run python bench/annotate_gui_bench.py --dabs 2000 --size 50000 --json out.json

Measures, with the brush tool driven by mouse events at 1:1 zoom:

* dab: the GUI-thread cost of one mouse move while painting (the segment is
  painted into the store's chunk cache, the overviews updated, the changed tiles
  marked stale) -- p50 / p95;
* visible: from the mouse move to the end of the first paint that shows the
  dab (tiles patched in place on the GUI thread, or read again by a worker
  when a patch does not apply) -- p50 / p95, and how many dabs needed a read;
* commit of the whole stroke (undo record + fsynced journal record), and its undo;
* RSS before and after painting across the whole image.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--dabs", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import numpy as np
    from PySide6.QtCore import QCoreApplication, QPoint, Qt
    from PySide6.QtTest import QTest

    from app.main import make_application

    qapp = make_application()
    from app.session import document_for
    from app.window import MainWindow
    from segcore.io.array import ArraySource
    from segcore.labels.schema import make_classes
    from segcore.project import Project

    work = Path(tempfile.mkdtemp(prefix="tessera_annot_bench_"))
    size = args.size
    pixels = np.broadcast_to(np.array([40, 60, 80], np.uint8), (size, size, 3))  # no memory
    doc = document_for(ArraySource(pixels, name="big"))
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    projects = window.annotation.projects
    project = Project.create(work / "proj", classes=make_classes(["a", "b"]))
    projects._set_project(project)
    entry = project.add_image(work / "big.tif", width=size, height=size)
    projects.show(entry.id, doc, project.editor(entry.id))
    canvas, ctx = window.canvas, window.annotation.ctx

    def pump_until(done: object, timeout: float = 10.0) -> None:
        end = time.perf_counter() + timeout
        while not done() and time.perf_counter() < end:  # type: ignore[operator]
            QCoreApplication.processEvents()

    pump_until(lambda: window.windowHandle() is not None and window.windowHandle().isExposed())
    window.annotation.toolbar.choose("brush")
    ctx.set_class(1)
    ctx.set_brush_size(20)
    canvas.center_on(size / 2, size / 2)
    canvas.viewport.set_zoom(1.0)
    canvas.repaint()
    pump_until(lambda: not canvas.loader.busy)
    if not canvas.frames:
        raise SystemExit("the canvas never painted: is the window exposed?")
    rss_before = rss_mb()

    def screen(x: float, y: float) -> QPoint:
        sx, sy = canvas.viewport.to_screen(x, y)
        return QPoint(round(sx), round(sy))

    # One stroke of short segments inside the view.
    cx, cy = size / 2, size / 2
    dab_ms, dab_cpu_ms, visible_ms, paint_cpu_ms = [], [], [], []
    reloads = 0  # dabs whose tiles had to be read again in a worker
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     screen(cx - 300, cy - 200))  # fmt: skip
    for i in range(args.dabs):
        x = cx - 300 + (i * 3) % 600
        y = cy - 200 + 40 * ((i * 3) // 600)
        t0, c0 = time.perf_counter(), time.thread_time()
        QTest.mouseMove(canvas, screen(x, y))
        t1, c1 = time.perf_counter(), time.thread_time()
        c2 = time.thread_time()
        canvas.repaint()  # shows tiles patched in place; requests tiles to read again
        if canvas.loader.busy:
            reloads += 1
            pump_until(lambda: not canvas.loader.busy)
            c2 = time.thread_time()
            canvas.repaint()
        t2 = time.perf_counter()
        paint_cpu_ms.append((time.thread_time() - c2) * 1000)
        dab_ms.append((t1 - t0) * 1000)
        dab_cpu_ms.append((c1 - c0) * 1000)
        visible_ms.append((t2 - t0) * 1000)
    # What a tile thread does for one changed label tile: read 514 x 514 labels, render.
    layer = canvas.layer("semantic")
    assert layer is not None
    tile_cpu_ms = []
    tx, ty = int(cx) // 512, int(cy) // 512
    for _ in range(50):
        c0 = time.thread_time()
        layer.render(layer.read_tile(0, tx, ty, 0), layer.style())
        tile_cpu_ms.append((time.thread_time() - c0) * 1000)
    t0 = time.perf_counter()
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       screen(cx, cy))  # fmt: skip
    commit_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    ctx.undo()
    undo_ms = (time.perf_counter() - t0) * 1000

    # Strokes all over the image: memory must not follow the image size.
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    for _ in range(100):
        x, y = rng.uniform(100, size - 100, 2)
        canvas.center_on(x, y)
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         screen(x, y))  # fmt: skip
        for k in range(10):
            QTest.mouseMove(canvas, screen(x + 5 * k, y + 3 * k))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           screen(x + 50, y + 30))  # fmt: skip
        canvas.repaint()
        QCoreApplication.processEvents()
    spread_s = time.perf_counter() - t0
    rss_after = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    result = {
        "size": size,
        "dabs": args.dabs,
        "brush_px": ctx.brush_size,
        "dab_ms_p50": round(percentile(dab_ms, 50), 2),
        "dab_ms_p95": round(percentile(dab_ms, 95), 2),
        "dab_cpu_ms_p50": round(percentile(dab_cpu_ms, 50), 2),
        "dab_cpu_ms_p95": round(percentile(dab_cpu_ms, 95), 2),
        "tile_read_render_cpu_ms_p50": round(percentile(tile_cpu_ms, 50), 2),
        "tile_read_render_cpu_ms_p95": round(percentile(tile_cpu_ms, 95), 2),
        "canvas_paint_cpu_ms_p50": round(percentile(paint_cpu_ms, 50), 2),
        "canvas_paint_cpu_ms_p95": round(percentile(paint_cpu_ms, 95), 2),
        "visible_ms_p50": round(percentile(visible_ms, 50), 2),
        "visible_ms_p95": round(percentile(visible_ms, 95), 2),
        "dabs_needing_a_tile_read": reloads,
        "commit_ms": round(commit_ms, 1),
        "undo_ms": round(undo_ms, 1),
        "strokes_all_over_s": round(spread_s, 2),
        "rss_mb_before": round(rss_before),
        "rss_mb_after": round(rss_after),
        "peak_rss_mb": round(peak),
        "label_chunk_cache_mb": round(ctx.editor.store._cache._bytes / 2**20),  # type: ignore[union-attr]
        "undo_history_mb": round(ctx.editor.history.nbytes / 2**20),  # type: ignore[union-attr]
        "canvas_tile_cache_mb": round(canvas.cache.nbytes / 2**20),
        "load_average": round(os.getloadavg()[0], 1),
    }
    window.close()
    qapp.processEvents()
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
