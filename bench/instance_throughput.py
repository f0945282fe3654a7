"""Throughput of instance inference against the semantic engine on the same image.

    uv run python bench/instance_throughput.py MODEL.safetensors [--repeat 4] [--tile 1024]
        [--semantic-halo 114]

MODEL is an instance model trained on nuclei (``bench/instance_nuclei.py`` writes one).
The image is stardist's ``img2d.tif`` tiled ``repeat x repeat`` times. The semantic
reference is a ``small_unet`` with the same widths and two classes (random
weights: its speed does not depend on them) run by ``engine.infer``; both use
the PyTorch runner and the default tile plan. Prints seconds, Mpx/s, the
instance / semantic time ratio and the peak RSS of each run (separate processes).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Loaded:
    module: Any
    meta: Any


def _run(
    kind: str, model: str, repeat: int, tile: int | None, halo: int | None
) -> dict[str, float]:
    import tifffile
    import torch

    from segcore.engine import InferOptions, infer
    from segcore.engine.instances import infer_instances
    from segcore.io.array import ArraySource
    from segcore.jobs import run_to_end
    from segcore.models import create_model, read_meta

    torch.set_num_threads(2)
    from segcore.sampledata import fetch

    image = np.tile(tifffile.imread(fetch("nuclei_image")), (repeat, repeat))
    opts = InferOptions(device="cpu", backend="torch", tile=tile)
    if kind == "instance":
        t0 = time.monotonic()
        result = run_to_end(infer_instances(ArraySource(image), model, options=opts))
        extra = {"objects": result.objects, "tiles": result.tiles, "halo": result.halo}
    else:
        meta = read_meta(model)
        module, sem = create_model(
            "small_unet",
            classes=2,
            in_channels=1,
            config=dict(meta.config),
            normalization=meta.normalization,
        )
        t0 = time.monotonic()
        opts = InferOptions(device="cpu", backend="torch", tile=tile, halo=halo)
        res = run_to_end(infer(ArraySource(image), Loaded(module.eval(), sem), options=opts))
        extra = {"tiles": res.tiles, "halo": res.halo}
    seconds = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    mpx = image.size / 1e6
    speed = round(mpx / seconds, 3)
    return {
        "kind": kind,
        "mpx": mpx,
        "seconds": round(seconds, 2),
        "mpx_per_s": speed,
        "peak_rss_gib": round(peak, 2),
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--tile", type=int)
    parser.add_argument("--kind", choices=("instance", "semantic"))
    parser.add_argument(
        "--semantic-halo", type=int, help="semantic run with this halo (e.g. the instance one)"
    )
    args = parser.parse_args()
    if args.kind:
        halo = args.semantic_halo
        print(json.dumps(_run(args.kind, str(args.model), args.repeat, args.tile, halo)))
        return
    out = {}
    for kind in ("semantic", "instance"):
        cmd = [
            sys.executable,
            __file__,
            str(args.model),
            "--repeat",
            str(args.repeat),
            "--kind",
            kind,
        ]
        if args.tile:
            cmd += ["--tile", str(args.tile)]
        if args.semantic_halo is not None:
            cmd += ["--semantic-halo", str(args.semantic_halo)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        out[kind] = json.loads(done.stdout.strip().splitlines()[-1])
    out["ratio"] = round(out["instance"]["seconds"] / out["semantic"]["seconds"], 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
