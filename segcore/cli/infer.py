"""``tessera infer``: run a model over an image, tile by tile, into a class map.

An instance model also writes object ids (uint32), a CSV row per object and,
if asked, GeoPackage outlines (:mod:`segcore.engine.instances`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from segcore.cli.progress import run_job
from segcore.errors import InferenceError
from segcore.jobs import Progress

if TYPE_CHECKING:
    from segcore.engine.options import InferOptions


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "infer",
        help="run a model over an image, tile by tile",
        description="Run a model over an image of any size and write a uint8 class map "
        "(GeoTIFF with the input's georeference, BigTIFF, zarr or PNG, by the output suffix). "
        "Given a folder, a glob pattern, a .txt list or several images, write one map per image "
        "into the folder -o names, skipping finished ones, with a summary table; "
        "--cluster / --scheduler run on Dask workers. "
        "An instance model also writes a uint32 object-id raster and a per-object CSV table.",
    )
    p.add_argument(
        "images",
        type=Path,
        nargs="*",
        metavar="IMAGE",
        help="an image; or a folder, a quoted glob pattern, a .txt list or several images "
        "(a batch: -o is then a folder)",
    )
    p.add_argument(
        "--model", "-m", required=True, type=Path, help="model file (.safetensors/.onnx)"
    )
    p.add_argument("-o", "--output", type=Path, help="class map to write (a folder for a batch)")
    p.add_argument("--tile", type=int, help="tile side in pixels (default: from the model)")
    p.add_argument("--halo", type=int, help="overlap margin in pixels (default: receptive field)")
    p.add_argument("--batch", type=int, help="tiles per forward pass")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--mode",
        choices=("auto", "exact", "blend"),
        default="auto",
        help="exact: equal to a whole-image pass; blend: weighted tile average; "
        "auto: exact when the model allows it",
    )
    p.add_argument("--window", choices=("gaussian", "cosine"), default="gaussian")
    p.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto: onnxruntime on CPU for big jobs, else PyTorch",
    )
    p.add_argument("--roi", type=_ints(4, "x,y,w,h"), help="only this rectangle: x,y,w,h")
    p.add_argument("--bands", type=_ints(None, "1,2,3"), help="1-based bands to use, e.g. 4,3,2")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="reading threads per image (per task on a cluster); not the cluster's processes",
    )
    dask = p.add_argument_group("batch and cluster (Dask)")
    where = dask.add_mutually_exclusive_group()
    where.add_argument(
        "--cluster",
        type=int,
        nargs="?",
        const=0,
        metavar="N",
        help="run on an embedded Dask cluster of N worker processes, one thread each "
        "(default N: one per GPU, else one per CPU core)",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster (tcp://HOST:8786)"
    )
    dask.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        help="segment every image of this project; the app shows the results as predictions",
    )
    dask.add_argument(
        "--suffix",
        default=".tif",
        choices=(".tif", ".zarr", ".png"),
        help="output type of a batch (default .tif)",
    )
    dask.add_argument("--cog", action="store_true", help="write Cloud Optimized GeoTIFFs")
    p.add_argument(
        "--slices",
        default="all",
        help="a volume's slices: all, N or FIRST:END (0-based); output .nii.gz",
    )
    score = p.add_mutually_exclusive_group()
    score.add_argument("--confidence", type=Path, help="also write a uint8 confidence map here")
    score.add_argument("--entropy", type=Path, help="also write a uint8 entropy map here")
    objects = p.add_argument_group("instance models")
    objects.add_argument(
        "--instances", type=Path, help="object-id raster (default: <output>.instances.tif)"
    )
    objects.add_argument(
        "--objects", type=Path, help="per-object CSV table (default: <output>.objects.csv)"
    )
    objects.add_argument("--polygons", type=Path, help="also write object outlines (.gpkg)")
    objects.add_argument(
        "--max-object", type=int, help="largest object side in pixels kept whole across tiles"
    )


INSTANCE_FLAGS = ("instances", "objects", "polygons", "max_object")


def _ints(count: int | None, example: str) -> Callable[[str], tuple[int, ...]]:
    """An argparse type for comma-separated integers."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected integers like {example}") from None
        if count is not None and len(values) != count:
            raise argparse.ArgumentTypeError(f"expected {count} integers like {example}")
        return values

    return parse


GDAL_CACHE_MB = "64"  # GDAL keeps 5 % of RAM by default; tiles are read once, plus their halos


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("GDAL_CACHEMAX", GDAL_CACHE_MB)  # before GDAL first reads it
    from segcore.engine import InferOptions, infer
    from segcore.engine.runners import Score

    score: Score = "confidence" if args.confidence else "entropy" if args.entropy else "none"
    options = InferOptions(
        tile=args.tile,
        halo=args.halo,
        batch=args.batch,
        device=args.device,
        mode=args.mode,
        window=args.window,
        backend=args.backend,
        roi=None if args.roi is None else tuple(args.roi),
        bands=None if args.bands is None else tuple(args.bands),
        score=score,
        score_path=args.confidence or args.entropy,
        workers=args.workers,
    )
    if options.workers < 1:
        raise InferenceError(f"--workers must be at least 1, got {options.workers}")
    from segcore.cli import infer_batch

    if args.project is not None or infer_batch.is_batch(args.images) or _on_cluster(args):
        return infer_batch.run(args, options)
    if args.output is None:
        raise InferenceError("give the class map to write with -o OUTPUT")
    if str(args.output).endswith((".nii", ".nii.gz")):  # a volume, slice by slice
        from segcore.cli.infer_volume import run_volume

        return run_volume(args, options)
    from segcore.engine.backend import open_model

    if open_model(args.model).meta.task == "instance":
        return _run_instances(args, options)
    given = [f"--{f.replace('_', '-')}" for f in INSTANCE_FLAGS if getattr(args, f) is not None]
    if given:
        raise InferenceError(
            f"{args.model} is a semantic model (a class per pixel, no objects); "
            f"{', '.join(given)} need an instance model"
        )
    job = infer(args.images[0], args.model, args.output, options=options)
    result = run_job(job, "tessera infer", detail=_tiles, notes=True)
    mpx = result.pixels / 1e6
    print(
        f"wrote {result.output}: {result.roi.w} x {result.roi.h} = {mpx:.1f} Mpx in "
        f"{result.seconds:.1f} s ({result.mpx_per_s:.2f} Mpx/s), peak memory "
        f"{peak_memory_text()}; {result.mode} mode, tile {result.tile}, halo {result.halo}, "
        f"{result.tiles} tile{'s' if result.tiles != 1 else ''} ({result.skipped} nodata), "
        f"{result.backend}",
        file=sys.stderr,
    )
    if result.score_output is not None:
        print(f"wrote {result.score_output}", file=sys.stderr)
    return 0


def _on_cluster(args: argparse.Namespace) -> bool:
    return args.cluster is not None or args.scheduler is not None


def _run_instances(args: argparse.Namespace, options: InferOptions) -> int:
    from dataclasses import replace

    from segcore.engine.backend import open_model
    from segcore.engine.instances import InstanceOutputs, infer_instances, model_grouping

    if args.mode == "blend" or args.window != "gaussian":
        raise InferenceError(
            f"{args.model} is an instance model: it runs in exact mode only; "
            "leave out --mode blend and --window"
        )
    if args.confidence or args.entropy:
        raise InferenceError(
            f"{args.model} is an instance model: a confidence or entropy map is a semantic "
            "output; its objects' scores are in the --objects table"
        )
    out: Path = args.output
    outs = InstanceOutputs(
        instances=args.instances or out.with_name(f"{out.stem}.instances.tif"),
        classes=out,
        table=args.objects or out.with_name(f"{out.stem}.objects.csv"),
        polygons=args.polygons,
    )
    grouping = model_grouping(open_model(args.model).meta)
    if args.max_object is not None:
        grouping = replace(grouping, max_object=args.max_object)
    job = infer_instances(
        args.images[0], args.model, outs, options=options,
        grouping=grouping,
    )  # fmt: skip
    result = run_job(job, "tessera infer", detail=_tiles, notes=True)
    mpx = result.roi.w * result.roi.h / 1e6
    print(
        f"{result.objects} objects in {result.roi.w} x {result.roi.h} = {mpx:.1f} Mpx in "
        f"{result.seconds:.1f} s, peak memory {peak_memory_text()}; tile {result.tile}, "
        f"halo {result.halo}, {result.tiles} tile{'s' if result.tiles != 1 else ''}, "
        f"{result.backend}",
        file=sys.stderr,
    )
    for path in result.outputs.values():
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _tiles(step: Progress) -> str:
    rate = f"{step.rate / 1e6:.2f} Mpx/s" if step.rate else "-"
    return f"{step.done}/{step.total} tiles {rate}"


def peak_memory_text() -> str:
    """Peak resident memory of this process (and the GPU's, when one was used)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_bytes = peak if sys.platform == "darwin" else peak * 1024
    text = f"{peak_bytes / 2**30:.2f} GiB RSS"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        text += f", {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB GPU"
    return text
