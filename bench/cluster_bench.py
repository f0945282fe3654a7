"""Benchmark cluster inference: 1 vs 2 Dask workers, and the cluster's overhead.

Run by hand::

    uv run python bench/cluster_bench.py --width 2048 --height 5000 [--suffix .zarr] [--threads 1]
    uv run python bench/cluster_bench.py --first-run 3072

The default run writes one synthetic 3-band GeoTIFF and a small_unet model file
(random init, 5 classes, its ONNX copy made when written), then times, on the
same image and with warm ONNX copies:

* ``single``: ``segcore.engine.infer`` in this process (the single-process engine);
* ``cluster-1``, ``cluster-2``: ``segcore.cluster.job.infer_images`` on an embedded
  ``LocalCluster`` of 1 and 2 workers (started before the clock, one thread each;
  onnxruntime gets cores / workers threads in each, or ``--threads``: with
  ``--threads 1`` one worker uses one core, so 1 -> 2 workers is 1 -> 2 cores).

Every output is compared with the single-process one (they must be equal).
``--first-run N`` instead times ``tessera infer`` on an N x N image in a fresh
process and cache: first with a model file written without its ONNX copy (the
run pays for the export), then again (warm), and how long the copy takes
when ``tessera models new`` writes the file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("TESSERA_BENCH_DIR", "/tmp/tessera-cluster-bench"))


def make_model(path: Path) -> Path:
    """small_unet, 5 classes, random weights scaled so the class map varies."""
    import torch

    from segcore.labels.schema import make_classes
    from segcore.models import build_model
    from segcore.models.files import save_model
    from segcore.models.meta import ModelMeta, Normalization

    torch.manual_seed(0)
    module = build_model("small_unet", num_classes=5, in_channels=3, encoder=None, config={})
    for layer in module.modules():
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(layer.weight)
    meta = ModelMeta(
        "small_unet", {}, 3, tuple(make_classes([f"c{i}" for i in range(5)])),
        Normalization((0.5,) * 3, (0.25,) * 3, 255.0), output_stride=8,
        receptive_field=23, exact=True,
    )  # fmt: skip
    return save_model(path, module.eval(), meta)


def scaling(width: int, height: int, suffix: str, reps: int, threads: int | None) -> None:
    import numpy as np

    from segcore.cluster.job import infer_images
    from segcore.cluster.session import open_cluster
    from segcore.engine import infer
    from segcore.jobs import run_to_end
    from segcore.models.onnx_cache import cached_onnx
    from segcore.synthetic import write_geotiff

    ROOT.mkdir(parents=True, exist_ok=True)
    image = ROOT / f"scene-{width}x{height}.tif"
    if not image.exists():
        write_geotiff(image, width, height)
    model = make_model(ROOT / "unet.safetensors")
    cached_onnx(model)  # as written by tessera train / models new
    mpx = width * height / 1e6

    best: dict[str, tuple[float, float]] = {}  # run -> (cluster start, fastest seconds)
    want = None
    for _ in range(reps):  # interleaved, fastest kept: the machine may be shared
        start = time.monotonic()
        result = run_to_end(infer(image, model, ROOT / f"single{suffix}"))
        _keep(best, "single", 0.0, time.monotonic() - start)
        want = _read(ROOT / f"single{suffix}")
        for workers in (1, 2):
            t0 = time.monotonic()
            with open_cluster(workers=workers) as cluster:  # fresh workers: they load the model
                startup = time.monotonic() - t0
                if threads is not None:
                    cluster.threads = threads
                out = ROOT / f"cluster-{workers}{suffix}"
                start = time.monotonic()
                outcome = run_to_end(infer_images(cluster, [(image, out)], model))[0]
                seconds = time.monotonic() - start
            assert outcome.status == "done", outcome.error
            assert np.array_equal(_read(out), want), "cluster output differs from the engine's"
            _keep(best, f"cluster-{workers}", startup, seconds)
    print(f"plan: {result.tiles} tiles of {result.tile} px, halo {result.halo}, {result.backend}")
    rows = [(name, startup, seconds) for name, (startup, seconds) in best.items()]
    single = best["single"][1]
    per = f"{threads} thread(s) per worker" if threads else "cores / workers threads per worker"
    print(f"\n{width} x {height} = {mpx:.1f} Mpx to {suffix}, {os.cpu_count()} cores, {per}, "
          f"fastest of {reps}\n")  # fmt: skip
    print("| run | cluster start (s) | seconds | Mpx/s | vs single | vs 1 worker |")
    print("|---|---|---|---|---|---|")
    one = rows[1][2]
    for name, startup, seconds in rows:
        print(
            f"| {name} | {startup:.1f} | {seconds:.1f} | {mpx / seconds:.2f} | "
            f"{seconds / single:.2f} | {one / seconds:.2f}x |"
        )


def _keep(best: dict[str, tuple[float, float]], name: str, startup: float, s: float) -> None:
    if name not in best or s < best[name][1]:
        best[name] = (startup, s)


def _read(path: Path) -> Any:
    import numpy as np

    if path.suffix == ".zarr":
        import zarr

        return np.asarray(zarr.open_array(str(path), mode="r")[:])
    import rasterio

    with rasterio.open(path) as ds:
        return ds.read(1)


def first_run(size: int) -> None:
    from segcore.synthetic import write_geotiff

    ROOT.mkdir(parents=True, exist_ok=True)
    image = ROOT / f"scene-{size}.tif"
    if not image.exists():
        write_geotiff(image, size, size)
    model = make_model(ROOT / "first.safetensors")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TESSERA_CACHE_DIR=cache)
        cli = [sys.executable, "-c", "import sys; from segcore.cli import main; sys.exit(main())"]
        args = [*cli, "infer", str(image), "-m", str(model), "-o", str(ROOT / "first.tif")]
        times = []
        for _ in range(2):
            start = time.monotonic()
            subprocess.run(args, env=env, check=True, capture_output=True)
            times.append(time.monotonic() - start)
        export = [*cli, "models", "new", "--arch", "small_unet", "--classes", "5"]
        export += ["--in-channels", "3", "-o", str(ROOT / "new.safetensors")]
        start = time.monotonic()
        subprocess.run([*export, "--no-onnx-copy"], env=env, check=True, capture_output=True)
        bare = time.monotonic() - start
        start = time.monotonic()
        subprocess.run(export, env=env, check=True, capture_output=True)
        with_copy = time.monotonic() - start
    print(f"\ntessera infer {size} x {size}, fresh process and cache\n")
    print("| run | seconds |")
    print("|---|---|")
    print(f"| first run, model written without its ONNX copy (exports) | {times[0]:.1f} |")
    print(f"| warm run (copy exists, as after train / models new) | {times[1]:.1f} |")
    print(f"| `tessera models new` without / with the copy | {bare:.1f} / {with_copy:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--height", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=2, help="interleaved repeats (fastest kept)")
    parser.add_argument(
        "--threads", type=int, help="onnxruntime threads per worker (default: cores / workers)"
    )
    parser.add_argument("--suffix", default=".tif", choices=(".tif", ".zarr"))
    parser.add_argument("--first-run", type=int, metavar="N", help="first vs warm run on N x N")
    args = parser.parse_args()
    if args.first_run:
        first_run(args.first_run)
    else:
        scaling(args.width, args.height, args.suffix, args.reps, args.threads)


if __name__ == "__main__":
    main()
