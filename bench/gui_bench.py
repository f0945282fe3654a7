"""GUI benchmark: launch, paint times, tile latency and memory on a 50k x 50k GeoTIFF.

Run by hand (offscreen; needs no display)::

    uv run python bench/gui_bench.py                 # makes /tmp/tessera_bench_50k.tif once
    uv run python bench/gui_bench.py --seconds 60 --json out.json

Measures

* launch -> first painted frame: from process start (before Qt is imported)
  to the end of the first ``paintEvent`` that shows the image, through the
  real start-up path (``app.main.launch``, as ``tessera IMAGE``);
* paint time p50 / p95 with a warm cache while panning and zooming (the
  duration of ``CanvasView.paintEvent``);
* newly exposed tiles: after a jump to an unseen place, the time until every
  visible tile is sharp;
* peak RSS while browsing (random pans and zooms) for ``--seconds``.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the heavy imports: launch time includes them

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
DEFAULT_TIFF = Path("/tmp/tessera_bench_50k.tif")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def pump(qapp: Any, until: Any, timeout: float) -> bool:
    """Process events until ``until()`` is true or ``timeout`` seconds pass."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        qapp.processEvents()
        if until():
            return True
        time.sleep(0.001)
    return False


def settle(qapp: Any, canvas: Any, timeout: float = 30.0) -> float:
    """Paint until all visible tiles are loaded; returns the seconds it took."""
    start = time.perf_counter()

    def done() -> bool:
        canvas.grab()
        return not canvas.loader.busy

    pump(qapp, done, timeout)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", type=Path, default=DEFAULT_TIFF)
    parser.add_argument("--seconds", type=float, default=60.0, help="browsing time for RSS")
    parser.add_argument("--size", default="1600x1000", help="window size")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not args.image.exists():
        sys.path.insert(0, str(Path(__file__).parent))
        from big_tiff import write_big_tiff

        print(f"writing {args.image} (a few minutes, once)...", flush=True)
        write_big_tiff(args.image, 50_000)
        print("rerun the benchmark now (launch time must not include the generation)")
        return

    settings = Path("/tmp/tessera_bench_settings.ini")
    settings.unlink(missing_ok=True)  # every run starts from the default layout
    os.environ["TESSERA_SETTINGS"] = str(settings)
    from PySide6.QtWidgets import QApplication

    from app.main import launch

    # The same start as `tessera IMAGE`: the file starts opening while the window is built.
    window = launch([str(args.image)])
    qapp = QApplication.instance()
    shown = time.perf_counter() - STARTED
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    canvas = window.canvas
    pump(qapp, lambda: window.session.document is not None, 60)
    opened = time.perf_counter() - STARTED
    pump(qapp, lambda: canvas.frames > 0, 60)
    first_frame = time.perf_counter() - STARTED
    first_frame_cpu = time.process_time()  # CPU seconds of all threads so far
    first_sharp = settle(qapp, canvas) + first_frame
    results: dict[str, Any] = {
        "image": str(args.image),
        "image_size": list(canvas.image_size),
        "canvas_size": [canvas.width(), canvas.height()],
        "window_shown_s": round(shown, 3),
        "image_opened_s": round(opened, 3),
        "launch_to_first_frame_s": round(first_frame, 3),
        "cpu_to_first_frame_s": round(first_frame_cpu, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "launch_to_sharp_view_s": round(first_sharp, 3),
    }

    # Warm-cache paints: visit a path once to load it, then replay it and time the paints.
    w, h = canvas.image_size
    path: list[tuple[str, float, float]] = []
    canvas.viewport.set_zoom(0.25)
    canvas.center_on(w / 2, h / 2)
    for i in range(40):
        path.append(("pan", 60.0 if i % 20 < 10 else -60.0, 25.0))
    for i in range(20):
        path.append(("zoom", 2**0.25 if i % 10 < 5 else 2**-0.25, 0.0))

    def play() -> None:
        canvas.viewport.set_zoom(0.25)
        canvas.center_on(w / 2, h / 2)
        canvas.grab()
        for kind, a, b in path:
            if kind == "pan":
                canvas.pan_by(a, b)
            else:
                canvas.zoom_by(a)
            canvas.grab()
            settle(qapp, canvas)

    play()  # cold: loads every tile the path needs
    canvas.paint_ms.clear()
    canvas.viewport.set_zoom(0.25)
    canvas.center_on(w / 2, h / 2)
    for kind, a, b in path:
        if kind == "pan":
            canvas.pan_by(a, b)
        else:
            canvas.zoom_by(a)
        canvas.grab()
    warm = list(canvas.paint_ms)
    # The view at rest: one more frame, with bilinear filtering of scaled tiles
    # (at a zoom between two levels, so the tiles are scaled).
    canvas.zoom_by(2**0.25)
    settle(qapp, canvas)
    rest = []
    for _ in range(5):
        pump(qapp, lambda: not canvas.moving, 2.0)
        canvas.paint_ms.clear()
        canvas.grab()
        rest.extend(canvas.paint_ms)
        canvas.pan_by(1, 0)
    results["warm_paint_ms"] = {
        "frames": len(warm),
        "p50": round(percentile(warm, 50), 2),
        "p95": round(percentile(warm, 95), 2),
        "max": round(max(warm), 2),
        "at_rest_filtered_p50": round(percentile(rest, 50), 2),
    }

    # Newly exposed tiles: jump somewhere unseen at 1:1 and wait until it is sharp.
    rng = random.Random(7)
    latencies = []
    for _ in range(15):
        canvas.viewport.set_zoom(rng.choice([1.0, 0.5, 0.25]))
        canvas.center_on(rng.uniform(0, w), rng.uniform(0, h))
        latencies.append(settle(qapp, canvas))
    results["new_tiles_sharp_s"] = {
        "p50": round(percentile(latencies, 50), 3),
        "p95": round(percentile(latencies, 95), 3),
    }

    # A minute of browsing: random drags and zooms, painting as a user would see it.
    import psutil

    proc = psutil.Process()
    peak = proc.memory_info().rss
    end = time.perf_counter() + args.seconds
    steps = 0
    while time.perf_counter() < end:
        action = rng.random()
        if action < 0.7:
            canvas.pan_by(rng.uniform(-300, 300), rng.uniform(-300, 300))
        elif action < 0.85:
            canvas.zoom_by(rng.choice([2**0.5, 2**-0.5]), anchor=(width / 3, height / 3))
        else:
            canvas.center_on(rng.uniform(0, w), rng.uniform(0, h))
        pump(qapp, lambda: False, 0.03)
        canvas.grab()
        steps += 1
        peak = max(peak, proc.memory_info().rss)
    results["browse"] = {
        "seconds": args.seconds,
        "steps": steps,
        "peak_rss_mb": round(peak / 2**20, 1),
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tile_cache_mb": round(canvas.cache.nbytes / 2**20, 1),
    }
    window.close()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
