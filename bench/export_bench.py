"""Export a 20k x 20k label map in bounded memory: time and peak RSS per format.

The labels come from a procedural :class:`LabelReader` (stuff bands plus one
building in about half of the 64 x 64 cells, ~49k objects at 20k), so no
label map ever exists in memory: whatever the export holds is its own. Each
format runs in a fresh subprocess, so peak RSS is that export's alone.

Usage::

    uv run python bench/export_bench.py --size 20000 --formats geotiff,png,npy,coco-panoptic
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from segcore.formats.base import ExportItem
from segcore.labels.reader import Layer
from segcore.labels.schema import ClassInfo

CLASSES = [
    ClassInfo(0, "ground", (120, 120, 120)),
    ClassInfo(1, "water", (0, 0, 200)),
    ClassInfo(2, "building", (200, 40, 40), thing=True),
]
CELL = 64


class ProceduralLabels:
    """Labels computed from pixel coordinates: any window, no stored map."""

    def __init__(self, size: int) -> None:
        self.width = self.height = size

    @property
    def classes(self) -> list[ClassInfo]:
        return CLASSES

    def read(self, layer: Layer, x: int, y: int, w: int, h: int) -> np.ndarray:
        w, h = min(w, self.width - x), min(h, self.height - y)
        ys = np.arange(y, y + h, dtype=np.int64)[:, None]
        xs = np.arange(x, x + w, dtype=np.int64)[None, :]
        cx, cy = xs // CELL, ys // CELL
        cell = cy * (self.width // CELL + 1) + cx
        has = ((cell * 2654435761) >> 7) % 2 == 0
        inside = (xs % CELL >= 8) & (xs % CELL < 40) & (ys % CELL >= 12) & (ys % CELL < 44)
        building = has & inside
        if layer == "semantic":
            stuff = ((xs // 1500 + ys // 1100) % 2).astype(np.uint8)
            return np.where(building, np.uint8(2), stuff).astype(np.uint8)
        return np.where(building, cell + 1, 0).astype(np.uint32)


def run_one(fmt: str, size: int, window: int) -> dict[str, Any]:
    import pyogrio  # noqa: F401 - load the libraries first: RSS before counts them
    import rasterio  # noqa: F401
    import shapely  # noqa: F401
    from pycocotools import mask  # noqa: F401
    from scipy import ndimage  # noqa: F401

    from segcore.formats.base import ExportOptions
    from segcore.formats.exporter import export
    from segcore.jobs import run_to_end

    out = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    try:
        labels = ProceduralLabels(size)
        item = ExportItem(
            "big",
            labels,
            crs="EPSG:32633",
            transform=(0.5, 0.0, 500000.0, 0.0, -0.5, 4100000.0),
        )
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start, cpu = time.perf_counter(), time.process_time()
        paths = run_to_end(export([item], fmt, out, options=ExportOptions(window=window)))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        size_bytes = sum(p.stat().st_size for p in paths)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "format": fmt,
        "size": size,
        "window": window,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "rss_before_mib": round(before / 1024, 1),
        "output_mib": round(size_bytes / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--window", type=int, default=2048)
    parser.add_argument("--formats", default="geotiff,png,npy,coco-panoptic")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.size, args.window)))
        return 0
    full_map = args.size * args.size * 5 / 2**20
    print(f"label map {args.size} x {args.size}: {full_map:.0f} MiB if held in memory")
    print("| format | wall (s) | CPU (s) | peak RSS (MiB) | RSS before (MiB) | output (MiB) |")
    print("|---|---|---|---|---|---|")
    for fmt in args.formats.split(","):
        cmd = [sys.executable, __file__, "--one", fmt, "--size", str(args.size)]
        cmd += ["--window", str(args.window)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"| {fmt} | failed: {done.stderr.strip().splitlines()[-1]} | | | | |")
            continue
        r = json.loads(done.stdout)
        print(
            f"| {fmt} | {r['seconds']} | {r['cpu_seconds']} | {r['peak_rss_mib']} "
            f"| {r['rss_before_mib']} "
            f"| {r['output_mib']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
