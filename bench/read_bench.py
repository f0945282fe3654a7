"""Reading benchmark: random 512x512 windows of a 20k x 20k tiled GeoTIFF.

Run by hand (not part of the tests)::

    uv run python bench/read_bench.py            # 20000 x 20000, cached in /tmp
    uv run python bench/read_bench.py --size 4000 --reads 40   # a quick look

It writes the synthetic scene once with ``segcore.synthetic.write_geotiff``
(no overviews; a copy with GDAL-built overviews beside it), then, each in a
fresh process so that peak memory is its own:

* ``overviews``: random windows at several levels of the file with internal
  overviews (levels are the overviews);
* ``lazy cold`` / ``lazy warm``: the same on the file without overviews, whose
  levels ``segcore.io.pyramid`` computes on first use and caches on disk; cold
  starts from an empty cache, warm reads the cache the cold pass left.

It reports p50 / p95 latency per level, peak RSS above the interpreter's
baseline (after imports, before opening the file), and the wall time of
``tessera info`` on the file (median of 5 runs, a subprocess each).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WINDOW = 512


def scene_paths(size: int, folder: Path) -> tuple[Path, Path]:
    """(file without overviews, copy with overviews), written on first use."""
    flat = folder / f"scene-{size}.tif"
    with_ovr = folder / f"scene-{size}-ovr.tif"
    folder.mkdir(parents=True, exist_ok=True)
    if not flat.exists():
        from segcore.synthetic import write_geotiff

        partial = flat.with_suffix(".partial.tif")
        print(f"writing {flat} ({size} x {size}) ...", file=sys.stderr)
        write_geotiff(partial, size, size)
        os.replace(partial, flat)
    if not with_ovr.exists():
        import rasterio
        from rasterio.enums import Resampling

        partial = with_ovr.with_suffix(".partial.tif")
        print(f"building overviews in {with_ovr} ...", file=sys.stderr)
        shutil.copyfile(flat, partial)
        factors = [f for f in (2, 4, 8, 16, 32, 64) if size // f >= 256]
        with rasterio.Env(COMPRESS_OVERVIEW="DEFLATE"), rasterio.open(partial, "r+") as ds:
            ds.build_overviews(factors, Resampling.average)
        os.replace(partial, with_ovr)
    return flat, with_ovr


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc (Linux).

    Not ``ru_maxrss``: that survives exec, so a child would start with its
    parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(path: Path, levels: list[int], reads: int, seed: int) -> dict[str, object]:
    """Runs in its own process: random reads per level, latency and peak memory."""
    import numpy as np

    from segcore.io import open_image

    baseline = memory_mb("VmRSS")
    rng = np.random.default_rng(seed)
    src = open_image(path)
    per_level: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    for level in levels:
        if level >= len(src.level_downsamples):
            continue
        width, height = src.level_size(level)
        times, cpu = [], []
        for _ in range(reads):
            x = int(rng.integers(0, max(1, width - WINDOW + 1)))
            y = int(rng.integers(0, max(1, height - WINDOW + 1)))
            t0, c0 = time.perf_counter(), time.process_time()
            src.read_region(level, x, y, WINDOW, WINDOW)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        per_level[str(level)] = {
            "downsample": src.level_downsamples[level],
            "p50_ms": statistics.median(times),
            "p95_ms": float(np.percentile(times, 95)),
            "max_ms": max(times),
            "cpu_p50_ms": statistics.median(cpu),
        }
    src.close()
    return {
        "levels": per_level,
        "total_s": time.perf_counter() - start,
        "peak_rss_above_baseline_mb": memory_mb("VmHWM") - baseline,
        "baseline_rss_mb": baseline,
    }


def run_measure(path: Path, levels: list[int], reads: int, cache: Path) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--measure", str(path), "--reads", str(reads)]
    cmd += ["--levels", ",".join(map(str, levels))]
    env = dict(os.environ, TESSERA_CACHE_DIR=str(cache))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def time_info(path: Path, runs: int = 5) -> tuple[float, float, float]:
    """Median wall time, fastest wall time and median CPU time (user + system)
    of ``tessera info``."""
    exe = Path(sys.executable).parent / "tessera"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "app.launcher"]
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([*cmd, "info", str(path)], capture_output=True, check=True)
        wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    default_folder = Path(tempfile.gettempdir()) / "tessera-bench"
    parser.add_argument("--folder", type=Path, default=default_folder)
    parser.add_argument("--reads", type=int, default=100, help="random windows per level")
    parser.add_argument("--levels", default="0,1,2,3,5")
    parser.add_argument("--info-only", action="store_true", help="only time tessera info")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    levels = [int(v) for v in args.levels.split(",")]
    if args.measure is not None:
        print(json.dumps(measure(args.measure, levels, args.reads, seed=0)))
        return

    flat, with_ovr = scene_paths(args.size, args.folder)
    if args.info_only:
        print_info(with_ovr, flat)
        return
    cache = Path(tempfile.mkdtemp(prefix="tessera-bench-cache-"))
    try:
        results = {
            "overviews": run_measure(with_ovr, levels, args.reads, cache),
            "lazy cold": run_measure(flat, levels, args.reads, cache),
            "lazy warm": run_measure(flat, levels, args.reads, cache),
        }
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    print(f"\n{args.size} x {args.size} RGB uint8 GeoTIFF, deflate, 512 tiles;")
    print(f"{args.reads} random {WINDOW}x{WINDOW} windows per level; CPUs: {os.cpu_count()}\n")
    print("| file | level (downsample) | p50 ms | p95 ms | max ms | CPU p50 ms |")
    print("|---|---|---|---|---|---|")
    for name, result in results.items():
        for level, row in result["levels"].items():  # type: ignore[attr-defined]
            print(
                f"| {name} | {level} ({row['downsample']:g}) | {row['p50_ms']:.1f} "
                f"| {row['p95_ms']:.1f} | {row['max_ms']:.1f} | {row['cpu_p50_ms']:.1f} |"
            )
    print("\n| file | peak RSS above baseline (MB) | baseline (MB) | total s |")
    print("|---|---|---|---|")
    for name, result in results.items():
        print(
            f"| {name} | {result['peak_rss_above_baseline_mb']:.0f} "
            f"| {result['baseline_rss_mb']:.0f} | {result['total_s']:.1f} |"
        )
    print_info(with_ovr, flat)


def print_info(with_ovr: Path, flat: Path) -> None:
    print("\n| `tessera info`, 5 runs | median wall ms | fastest wall ms | median CPU ms |")
    print("|---|---|---|---|")
    for name, path in (("with overviews", with_ovr), ("without overviews", flat)):
        wall, fastest, cpu = time_info(path)
        print(f"| {name} | {wall * 1000:.0f} | {fastest * 1000:.0f} | {cpu * 1000:.0f} |")
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
