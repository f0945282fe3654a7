"""Images through a Dask cluster: the client plans, the workers compute and write.

:func:`infer_images` is a job (it yields :class:`~segcore.jobs.Progress`: tiles
done, pixels per second) over any number of images. For each image the
client makes the single-process engine's decisions for the whole image (the
request check, the runner, the tile plan: :mod:`segcore.engine`), cuts the
plan into parts (:mod:`segcore.cluster.parts`) and submits one task per part,
one per shared chunk row and one that makes the finished file. Before any tile
it checks every worker (:func:`segcore.cluster.tasks.preflight`). An image
that fails is reported and the others go on; a worker that dies has its tasks
run again elsewhere (the scheduler recomputes what was lost).
"""

from __future__ import annotations

import itertools
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from segcore.cluster.parts import MAX_PARTS, Layout, split_plan
from segcore.cluster.session import Cluster, ClusterError
from segcore.cluster.ship import RunnerSpec, Shipment, shipment
from segcore.cluster.tasks import ImageWork, finish_image, preflight, run_part, write_seam
from segcore.engine.backend import ModelRef, open_model, runner_choice
from segcore.engine.options import InferOptions
from segcore.engine.request import open_source, prepare
from segcore.engine.tiling import TilePlan, output_pixels, tile_plan
from segcore.engine.writers import BLOCK, OutputSpec, ZarrSink, check_output
from segcore.errors import ModelError, TesseraError
from segcore.jobs import Job, Progress
from segcore.labels.schema import UNLABELLED

RETRIES = 2  # a task that raised is tried this many more times (a dead worker's are rerun anyway)
IMAGES_AHEAD = 2  # images in flight per worker: bounds futures and half-written stores

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome:
    """One row of the summary: what became of one image."""

    image: Path
    output: Path
    width: int
    height: int
    seconds: float
    status: Status
    error: str = ""


@dataclass(frozen=True)
class _Planned:
    image: Path
    output: Path
    width: int
    height: int
    spec: OutputSpec
    choice: RunnerSpec
    mode: Literal["exact", "blend"]
    batch: int


def infer_images(
    cluster: Cluster,
    items: Sequence[tuple[Path, Path]],
    model: str | Path,
    *,
    options: InferOptions | None = None,
    resume: bool = False,
    cog: bool = False,
) -> Job[list[Outcome]]:
    """Run ``model`` over each (image, output) pair on ``cluster``; one Outcome per pair.

    With ``resume``, an output that already exists (outputs appear only when
    complete) is skipped. Raises ClusterError before any tile when a worker
    cannot load the model, see the images or write the output folder.
    """
    options = options or InferOptions()
    if options.score != "none" or options.mask is not None or options.logits:
        raise ClusterError(
            "score maps, masks and logits run in a single process; leave out --cluster"
        )
    ref = open_model(model)
    if ref.path is None:
        raise ClusterError("a cluster run needs a model file")
    outcomes: dict[int, Outcome] = {}
    planned: dict[int, _Planned] = {}
    threads = cluster.threads
    for i, (image, output) in enumerate(items):
        if resume and output.exists():
            outcomes[i] = _skipped(image, output)
            continue
        try:
            planned[i] = _prepare(image, output, ref, options, threads)
        except TesseraError as exc:
            outcomes[i] = Outcome(image, output, 0, 0, 0.0, "failed", str(exc))
    if planned:
        ship, planned, notices = yield from _ship(ref, planned, options)
        for notice in notices:
            yield Progress(0, 0, message=notice)
        finished = yield from _run(cluster, ship, planned, options, cog)
        outcomes.update(finished)
    return [outcomes[i] for i in range(len(items))]


def _skipped(image: Path, output: Path) -> Outcome:
    try:
        src, _ = open_source(image)
        w, h = src.width, src.height
        src.close()
    except TesseraError:
        w = h = 0
    return Outcome(image, output, w, h, 0.0, "skipped", "output exists")


def _prepare(
    image: Path, output: Path, ref: ModelRef, options: InferOptions, threads: int | None
) -> _Planned:
    """The engine's request check and runner choice for the whole image (no tile yet)."""
    check_output(output)
    src, owns = open_source(image)
    assert ref.path is not None
    try:
        setup = prepare(src, ref.path, options, owns_source=owns)
    except BaseException:
        src.close()
        raise
    try:
        pixels = output_pixels(src.width, src.height, options)
        choice = runner_choice(ref, device=setup.device, backend=options.backend, pixels=pixels)
        spec = _spec(src.metadata, options, src.width, src.height, ref)
        runner = RunnerSpec(choice.kind, choice.strips, setup.device, options.precision, threads)
        return _Planned(image, output, src.width, src.height, spec, runner, setup.mode, setup.batch)
    finally:
        setup.close()


def _spec(meta: Any, options: InferOptions, width: int, height: int, ref: ModelRef) -> OutputSpec:
    x, y, w, h = options.roi or (0, 0, width, height)
    transform = meta.transform
    if transform is not None:
        a, b, c, d, e, f = transform
        transform = (a, b, a * x + b * y + c, d, e, d * x + e * y + f)
    return OutputSpec(w, h, meta.crs, transform, ref.meta.classes, UNLABELLED)


def _ship(
    ref: ModelRef, planned: dict[int, _Planned], options: InferOptions
) -> Job[tuple[Shipment, dict[int, _Planned], tuple[str, ...]]]:
    """The model's shipment, with its ONNX copy when an image runs in onnxruntime."""
    assert ref.path is not None
    onnx = None
    notices: tuple[str, ...] = ()
    wants = any(p.choice.kind == "onnx" for p in planned.values())
    if wants and ref.path.suffix.lower() != ".onnx":
        from segcore.models.onnx_cache import onnx_copy

        try:
            onnx = yield from onnx_copy(ref.path)
        except ModelError as exc:
            if options.backend == "onnx":
                raise
            notices = (f"onnxruntime not used ({exc}); running PyTorch",)
            torch = {"kind": "torch", "strips": False}
            planned = {i: replace(p, choice=replace(p.choice, **torch)) for i, p in planned.items()}  # type: ignore[arg-type]
    return shipment(ref.path, ref.meta, onnx=onnx), planned, notices


def _check_workers(
    cluster: Cluster, ship_f: Any, specs: tuple[RunnerSpec, ...], planned: _Planned
) -> dict[RunnerSpec, bool]:
    """Every worker loads the model, sees the first image and the output folder, or
    ClusterError; returns whether each runner works in strips."""
    client = cluster.client
    import zarr

    probe = planned.output.parent / f".tessera-probe-{uuid.uuid4().hex[:8]}.zarr"
    try:
        zarr.create_array(store=str(probe), shape=(1, 1), dtype="uint8")
    except Exception as exc:
        raise ClusterError(f"cannot write to {planned.output.parent} ({exc})") from exc
    try:
        workers = list(client.scheduler_info().get("workers", {}))
        futures = [
            client.submit(
                preflight,
                ship_f,
                specs,
                str(planned.image),
                str(probe),
                workers=[w],
                allow_other_workers=False,
                pure=False,
            )  # fmt: skip
            for w in workers
        ]
        answers = []
        for worker, future in zip(workers, futures, strict=True):
            try:
                answers.append(future.result())
            except Exception as exc:
                raise ClusterError(
                    f"worker {worker} cannot run tessera's tasks ({type(exc).__name__}: {exc}); "
                    "install tessera with its dependencies in the workers' environment"
                ) from exc
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    for answer in answers:
        if not answer.startswith("strips:"):
            raise ClusterError(answer)
    flags = answers[0].removeprefix("strips:").split(",")
    return {spec: flag == "1" for spec, flag in zip(specs, flags, strict=True)}


def _run(
    cluster: Cluster,
    ship: Shipment,
    planned: dict[int, _Planned],
    options: InferOptions,
    cog: bool,
) -> Job[dict[int, Outcome]]:
    import distributed

    as_completed: Any = distributed.as_completed  # untyped
    client = cluster.client
    ship_f = client.scatter(ship, broadcast=True, hash=False)
    specs = tuple(dict.fromkeys(p.choice for p in planned.values()))
    strips = _check_workers(cluster, ship_f, specs, next(iter(planned.values())))
    layouts: dict[int, tuple[TilePlan, Layout]] = {}
    for i, p in planned.items():
        plan = tile_plan(
            p.width, p.height, meta=ship.meta, mode=p.mode, options=options,
            in_strips=strips[p.choice],
        )  # fmt: skip
        chunk = min(BLOCK, p.spec.height)  # ZarrSink's chunk rows
        layout = split_plan(plan, chunk=chunk, max_parts=1 if p.mode == "blend" else MAX_PARTS)
        layouts[i] = plan, layout
    total = sum(sum(q.tiles for q in layout.parts) for _, layout in layouts.values())
    queue = list(layouts)
    works: dict[int, ImageWork] = {}
    results: dict[int, Outcome] = {}
    kinds: dict[str, tuple[str, int, int]] = {}  # future key -> (kind, image, part)
    started: dict[int, float] = {}
    live: dict[int, list[Any]] = {}
    done_tiles, pixels, start = 0, 0, time.monotonic()
    counted: dict[int, int] = {}  # tiles done per image
    unstarted: list[int] = []  # images whose store could not be made
    ahead = IMAGES_AHEAD * cluster.workers
    stream = as_completed()
    token = uuid.uuid4().hex[:8]

    def submit_next() -> None:
        while queue and len(live) < ahead:
            i = queue.pop(0)
            p, (plan, layout) = planned[i], layouts[i]
            try:
                sink = ZarrSink(p.output.with_suffix(".zarr"), p.spec)  # the store parts fill
            except Exception as exc:  # this image cannot be written; the others go on
                results[i] = Outcome(p.image, p.output, p.width, p.height, 0.0, "failed",
                                     f"{p.output}: cannot create its store ({exc})")  # fmt: skip
                unstarted.append(i)
                continue
            work = works[i] = ImageWork(
                str(p.image), options.bands, plan, p.mode, options.window, p.choice, p.batch,
                str(sink.temp), str(p.output), p.spec, layout.chunk, options.workers, cog,
            )  # fmt: skip
            started[i] = time.monotonic()

            def task(fn: Any, *args: Any, name: str, image: int = i) -> Any:
                key = f"tessera-{name}-{token}-{image}"
                return client.submit(fn, *args, key=key, retries=RETRIES, pure=False)

            parts = [
                task(run_part, ship_f, work, q, name=f"part-{k}")
                for k, q in enumerate(layout.parts)
            ]
            seams = [
                task(write_seam, work, seam, *[parts[j] for j in seam.parts], name=f"seam-{k}")
                for k, seam in enumerate(layout.seams)
            ]
            end = task(finish_image, work, *parts, *seams, name="finish")
            for k, future in enumerate(parts):
                kinds[future.key] = ("part", i, k)
                stream.add(future)
            kinds[end.key] = ("finish", i, 0)
            stream.add(end)
            live[i] = [*parts, *seams, end]

    try:
        submit_next()
        total -= sum(sum(q.tiles for q in layouts[j][1].parts) for j in unstarted)
        unstarted.clear()
        for future in stream:
            entry = kinds.pop(future.key, None)
            if entry is None:  # a part of an image that has already failed
                continue
            kind, i, k = entry
            if kind == "part":
                if future.status == "finished":
                    part = layouts[i][1].parts[k]
                    done_tiles += part.tiles
                    counted[i] = counted.get(i, 0) + part.tiles
                    pixels += part.pixels
                    rate = pixels / max(time.monotonic() - start, 1e-9)
                    yield Progress(done_tiles, total, rate=rate)
                continue
            p = planned[i]
            seconds = time.monotonic() - started[i]
            if future.status == "finished":
                results[i] = Outcome(p.image, p.output, p.width, p.height, seconds, "done")
            else:
                results[i] = Outcome(
                    p.image, p.output, p.width, p.height, seconds, "failed",
                    _reason(future.exception()),
                )  # fmt: skip
                shutil.rmtree(works[i].store, ignore_errors=True)
                total -= sum(q.tiles for q in layouts[i][1].parts) - counted.get(i, 0)
                yield Progress(done_tiles, total, rate=pixels / max(time.monotonic() - start, 1e-9))
            for f in live.pop(i):
                kinds.pop(f.key, None)
            submit_next()
            total -= sum(sum(q.tiles for q in layouts[j][1].parts) for j in unstarted)
            unstarted.clear()
        return results
    finally:
        pending = list(itertools.chain.from_iterable(live.values()))
        if pending:
            client.cancel(pending)
        for i in live:
            shutil.rmtree(works[i].store, ignore_errors=True)


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "failed"
    if isinstance(exc, TesseraError):
        return str(exc)
    name = type(exc).__name__
    if name == "KilledWorker":
        return f"the workers running it died several times ({exc}); give them more memory"
    return f"{name}: {exc}"
