"""``tessera infer`` over many images, or on a Dask cluster (``--cluster``, ``--scheduler``).

Called by :mod:`segcore.cli.infer` when it is given a folder, a glob pattern,
a list, several images, ``--project`` or a cluster. Prints the summary table
(and writes it as ``summary.csv`` into the output folder); the exit status is
1 when an image failed (the others were still run), 2 for a request that
cannot start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segcore.cli.progress import run_job
from segcore.cluster.batch import (
    SUMMARY,
    batch_items,
    expand_inputs,
    infer_serially,
    is_batch,
    summary_lines,
    write_summary,
)
from segcore.cluster.job import Outcome
from segcore.engine.options import InferOptions
from segcore.errors import InferenceError
from segcore.jobs import Progress

__all__ = ["is_batch", "run"]


def run(args: argparse.Namespace, options: InferOptions) -> int:
    items, summary = _items(args)
    single = summary is None
    on_cluster = args.cluster is not None or args.scheduler is not None
    if args.cog and not on_cluster:
        raise InferenceError("--cog is written by the cluster path; add --cluster")
    if on_cluster:
        from segcore.cluster.job import infer_images
        from segcore.cluster.session import open_cluster

        workers = None if args.cluster in (None, 0) else args.cluster
        with open_cluster(workers=workers, scheduler=args.scheduler) as cluster:
            print(
                f"tessera infer: {cluster.workers} Dask worker(s), dashboard {cluster.dashboard}",
                file=sys.stderr,
            )
            job = infer_images(
                cluster, items, args.model, options=options, resume=not single, cog=args.cog
            )
            outcomes = run_job(job, "tessera infer", detail=_detail, notes=True)
    else:
        job = infer_serially(items, args.model, options=options)
        outcomes = run_job(job, "tessera infer", detail=_images, notes=True)
    if single:
        return _single(outcomes[0])
    for line in summary_lines(outcomes):
        print(line, file=sys.stderr)
    assert summary is not None
    print(f"wrote {write_summary(outcomes, summary)}", file=sys.stderr)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _items(args: argparse.Namespace) -> tuple[list[tuple[Path, Path]], Path | None]:
    """(image, output) pairs and where the summary goes (None: one image, no summary)."""
    if args.project is not None:
        from segcore.project.predictions import FOLDER, prediction_path, project_images

        if args.images or args.output is not None:
            raise InferenceError("--project segments the project's images; give no images or -o")
        listed = project_images(args.project)
        if not listed:
            raise InferenceError(f"{args.project}: the project has no images")
        folder = Path(args.project) / FOLDER
        folder.mkdir(exist_ok=True)
        items = [(path, prediction_path(args.project, image_id)) for image_id, path in listed]
        return items, folder / SUMMARY
    if not args.images:
        raise InferenceError("name an image, a folder, a glob pattern or a list to segment")
    if args.output is None:
        raise InferenceError("give the output with -o (a folder for several images)")
    if not is_batch(args.images):
        return [(args.images[0], args.output)], None
    images = expand_inputs(args.images)
    args.output.mkdir(parents=True, exist_ok=True)
    return batch_items(images, args.output, args.suffix), args.output / SUMMARY


def _single(outcome: Outcome) -> int:
    if outcome.status == "failed":
        raise InferenceError(outcome.error)
    print(
        f"wrote {outcome.output}: {outcome.width} x {outcome.height} in "
        f"{outcome.seconds:.1f} s on the cluster",
        file=sys.stderr,
    )
    return 0


def _detail(step: Progress) -> str:
    rate = f"{step.rate / 1e6:.2f} Mpx/s" if step.rate else "-"
    return f"{step.done}/{step.total} tiles {rate}"


def _images(step: Progress) -> str:
    return f"{step.done}/{step.total} images"
