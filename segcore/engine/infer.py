"""The public inference job: any model over any image, tile by tile, streamed.

>>> from segcore.engine import infer, InferOptions
>>> job = infer("scene.tif", "model.safetensors", "classes.tif")  # doctest: +SKIP
>>> result = run_to_end(job, print)  # doctest: +SKIP

``infer`` checks the request at once (bands, region, tile and halo) and
returns a generator. Iterating it reads tiles on a thread pool, runs them in
batches, merges them (exact or blended, :mod:`segcore.engine.merger`) and
streams finished row bands to a writer thread. Each tile yields a
:class:`~segcore.jobs.Progress` whose payload is a list of
:class:`~segcore.engine.merger.TilePatch` (finished class ids with their image
position) so a viewer can paint results as they come. ``close()`` stops the
job between two tiles: threads are joined and partial files deleted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from segcore.engine.backend import ModelLike, make_runner
from segcore.engine.merger import Band, BlendMerger, ExactMerger
from segcore.engine.options import InferOptions, InferResult
from segcore.engine.reader import Preparer, TileData, TileReader
from segcore.engine.request import Setup, open_source, prepare
from segcore.engine.runners import Runner, TileOutput
from segcore.engine.tiling import TilePlan, output_pixels, tile_plan
from segcore.engine.writers import OutputSpec, WriterThread, check_output, open_sink
from segcore.errors import InferenceError
from segcore.files import check_outputs, publish, sweep_parts
from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress
from segcore.labels.schema import UNLABELLED


def infer(
    source: ImageSource | str | Path,
    model: ModelLike | str | Path,
    output: str | Path | None = None,
    *,
    options: InferOptions | None = None,
) -> Job[InferResult]:
    """Run ``model`` over ``source`` and write a uint8 class map to ``output``.

    Parameters
    ----------
    source
        An :class:`~segcore.io.source.ImageSource` or a path to open.
    model
        A loaded model (``.module`` and ``.meta``), a Tessera model file, or an
        ``.onnx`` file with its sidecar JSON.
    output
        ``.tif``/``.tiff``, ``.zarr`` or ``.png`` path; None keeps the result in
        memory (``InferResult.labels``), for small images and regions.
    options
        See :class:`InferOptions`.

    Returns
    -------
    Job[InferResult]
        A generator yielding one Progress per tile (``rate`` in pixels/s) and
        returning the result. Raises ModelError / InferenceError / SourceError
        here for a request that cannot work, or while iterating for one that fails.
    """
    options = options or InferOptions()
    if options.logits and output is not None:
        raise InferenceError("logits are only kept for in-memory output (output=None)")
    _check_paths(source, model, output, options)
    src, owns = open_source(source)
    try:
        setup = prepare(src, model, options, owns_source=owns)
        if setup.model.meta.task != "semantic":
            raise InferenceError(
                f"{setup.model.name} is an instance model: its outputs are objects, not a "
                "class map; run it with segcore.engine.instances.infer_instances "
                "(tessera infer --instances)"
            )
        preparer = Preparer(src, norm=setup.model.meta.normalization, bands=options.bands)
    except BaseException:
        if owns:
            src.close()
        raise
    return _run(setup, preparer, None if output is None else Path(output), options)


def _check_paths(
    source: ImageSource | str | Path,
    model: ModelLike | str | Path,
    output: str | Path | None,
    options: InferOptions,
) -> None:
    """Before any work: outputs of a known type, never onto an input or each other."""
    if output is None:
        return
    outputs = [("-o", Path(check_output(output)))]
    if options.score != "none":
        score = options.score_path or score_path_for(Path(output))
        outputs.append((f"the {options.score} map", check_output(score)))
    guard_outputs(outputs, source, model)


def guard_outputs(
    outputs: list[tuple[str, Path]], source: ImageSource | str | Path, model: ModelLike | str | Path
) -> None:
    """Refuse ``outputs`` that would replace the image, the model or its sidecar (or
    each other), then remove stale temporary files from their folders."""
    inputs: list[tuple[str, str | Path]] = []
    if isinstance(model, str | Path):
        inputs.append(("the model", model))
        if Path(model).suffix.lower() in {".onnx", ".pth"}:  # these read a sidecar
            inputs.append(("the model's sidecar", Path(model).with_suffix(".json")))
    image = source if isinstance(source, str | Path) else getattr(source, "path", None)
    if image is not None:
        inputs.append(("the input image", image))
    check_outputs(outputs, inputs)
    for folder in {path.parent for _, path in outputs}:
        sweep_parts(folder)


def score_path_for(output: Path) -> Path:
    """Where the score map goes when no path is given: ``<name>.score<suffix>``."""
    return output.with_suffix(".score" + output.suffix)


def _run(
    setup: Setup, preparer: Preparer, output: Path | None, options: InferOptions
) -> Job[InferResult]:
    meta, source = setup.model.meta, setup.source
    score = options.score
    writers: list[WriterThread] = []
    reader: TileReader | None = None
    runner: Runner | None = None
    committed = False
    try:
        pixels = output_pixels(source.width, source.height, options)
        runner, backend_notices = yield from make_runner(
            setup.model,
            device=setup.device,
            backend=options.backend,
            precision=options.precision,
            pixels=pixels,
        )
        plan = tile_plan(
            source.width,
            source.height,
            meta=meta,
            mode=setup.mode,
            options=options,
            in_strips=runner.in_strips,
        )
        roi = plan.roi
        notices = setup.notices + backend_notices
        keep = output is None and (options.keep or options.logits)
        arrays = _Arrays(roi.w, roi.h, meta.num_classes, options) if keep else None
        if output is not None:
            spec = _output_spec(setup, plan, output)
            writers.append(WriterThread(open_sink(output, spec)))
            if score != "none":
                score_path = Path(options.score_path or score_path_for(output))
                writers.append(WriterThread(open_sink(score_path, _score_spec(spec))))
        if notices:
            yield Progress(0, plan.count, message="; ".join(notices))
        blend = setup.mode == "blend"
        kw = {"score": score, "classes": meta.num_classes, "logits": options.logits}
        merger = (
            BlendMerger(plan, window=options.window, **kw) if blend else ExactMerger(plan, **kw)  # type: ignore[arg-type]
        )
        reader = TileReader(preparer, plan.tiles(), workers=options.workers, depth=setup.batch + 1)
        start, done, skipped, pixels = time.monotonic(), 0, 0, 0

        def emit(bands: list[Band]) -> None:
            for band in bands:
                if arrays is not None:
                    arrays.put(band, roi.y)
                if writers:
                    writers[0].write(band.labels)
                if len(writers) > 1 and band.score is not None:
                    writers[1].write(band.score)

        for group in _batches(reader, setup.batch):
            outputs = _run_batch(runner, group, logits=blend or options.logits, score=score)
            for data, out in zip(group, outputs, strict=True):
                bands, patches = merger.add(data, out)
                emit(bands)
                done += 1
                skipped += out is None
                pixels += data.tile.core.w * data.tile.core.h
                rate = pixels / max(time.monotonic() - start, 1e-9)
                yield Progress(done, plan.count, rate=rate, payload=patches)
        last = merger.finish()
        emit(last)
        if blend and last:  # the last rows of a blend are final only now: paint them too
            payload = [merger.patch(band) for band in last]
            yield Progress(done, plan.count, rate=pixels / max(time.monotonic() - start, 1e-9),
                           payload=payload)  # fmt: skip
        final = publish([w.finish() for w in writers])  # renamed only once all are whole
        committed = True
        return InferResult(
            output=final[0] if final else None,
            score_output=final[1] if len(final) > 1 else None,
            roi=roi,
            mode=setup.mode,
            backend=runner.name,
            tile=max(plan.tile_w, plan.tile_h),
            halo=plan.halo,
            tiles=plan.count,
            skipped=skipped,
            seconds=time.monotonic() - start,
            notices=notices,
            labels=None if arrays is None else arrays.labels,
            score=None if arrays is None else arrays.score,
            logits=None if arrays is None else arrays.logits,
        )
    finally:
        if reader is not None:
            reader.close()
        if not committed:
            for w in writers:
                w.abort()
        if runner is not None:
            runner.close()
        setup.close()


def _batches(reader: TileReader, size: int) -> Iterator[list[TileData]]:
    """Groups of tiles in plan order with ``size`` tiles to run (skipped ones ride along)."""
    group: list[TileData] = []
    runnable = 0
    for data in reader:
        group.append(data)
        runnable += data.pixels is not None
        if runnable >= size:
            yield group
            group, runnable = [], 0
    if group:
        yield group


def _run_batch(
    runner: Runner, group: list[TileData], *, logits: bool, score: str
) -> list[TileOutput | None]:
    todo = [d.pixels for d in group if d.pixels is not None]
    results = iter(runner.run(todo, logits=logits, score=score) if todo else [])  # type: ignore[arg-type]
    return [None if d.pixels is None else next(results) for d in group]


class _Arrays:
    """The in-memory output of a job with no output file."""

    def __init__(self, w: int, h: int, classes: int, options: InferOptions) -> None:
        self.labels = np.full((h, w), UNLABELLED, np.uint8)
        self.score = None if options.score == "none" else np.zeros((h, w), np.uint8)
        self.logits = np.zeros((classes, h, w), np.float32) if options.logits else None

    def put(self, band: Band, top: int) -> None:
        rows = slice(band.y - top, band.y - top + band.height)
        self.labels[rows] = band.labels
        if self.score is not None and band.score is not None:
            self.score[rows] = band.score
        if self.logits is not None and band.logits is not None:
            self.logits[:, rows] = band.logits


def _output_spec(setup: Setup, plan: TilePlan, output: Path) -> OutputSpec:
    meta, roi = setup.source.metadata, plan.roi
    transform = meta.transform
    if transform is not None:
        a, b, c, d, e, f = transform
        transform = (a, b, a * roi.x + b * roi.y + c, d, e, d * roi.x + e * roi.y + f)
    return OutputSpec(roi.w, roi.h, meta.crs, transform, setup.model.meta.classes, UNLABELLED)


def _score_spec(spec: OutputSpec) -> OutputSpec:
    return OutputSpec(spec.width, spec.height, spec.crs, spec.transform, (), None)
