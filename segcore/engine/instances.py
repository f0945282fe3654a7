"""The instance inference job: dense maps tile by tile, objects stitched across tiles.

>>> from segcore.engine.instances import InstanceOutputs, infer_instances
>>> outs = InstanceOutputs(instances="ids.tif", classes="classes.tif", table="objects.csv")
>>> result = run_to_end(infer_instances("scene.tif", "nuclei.safetensors", outs))  # doctest: +SKIP

An instance model (``meta.task == "instance"``) runs through the same pieces
as a semantic one (request check, runner, the tile plan decided once, the
prefetching reader, the writer threads) in exact mode, with a halo of its
receptive field plus the largest object side (``Grouping.max_object``). Each
tile's dense logits are grouped into objects over its core widened by that
margin (:mod:`segcore.engine.grouping`), and each object is kept by the one
tile whose core holds its first pixel (:mod:`segcore.engine.stitch`), so an
object is neither split nor duplicated at a tile border and ids are unique
over the image. Memory holds a band of tile rows, never the image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from segcore.engine.backend import ModelLike, make_runner, open_model
from segcore.engine.grouping import Grouping, Objects, group
from segcore.engine.infer import guard_outputs
from segcore.engine.object_table import (
    POLYGON_SUFFIXES,
    TABLE_SUFFIXES,
    PolygonWriter,
    TableWriter,
    check_table,
)
from segcore.engine.options import InferOptions
from segcore.engine.reader import Preparer, TileData, TileReader
from segcore.engine.request import Setup, open_source, prepare
from segcore.engine.runners import Runner
from segcore.engine.stitch import InstanceBand, ObjectRow, Owned, Stitcher
from segcore.engine.tiling import Tile, TilePlan, output_pixels, tile_plan
from segcore.engine.writers import OutputSpec, WriterThread, check_output, open_sink
from segcore.errors import InferenceError
from segcore.files import publish
from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED
from segcore.models.instance import DEFAULT_MAX_OBJECT
from segcore.models.meta import ModelMeta


@dataclass(frozen=True)
class InstanceOutputs:
    """Where an instance job writes; any may be None (not written).

    ``instances``: uint32 object ids (0 = none), ``.tif``/``.zarr``;
    ``classes``: the uint8 class map; ``table``: one CSV row per object;
    ``polygons``: a GeoPackage of object outlines in map coordinates.
    """

    instances: str | Path | None = None
    classes: str | Path | None = None
    table: str | Path | None = None
    polygons: str | Path | None = None


@dataclass(frozen=True)
class InstanceResult:
    """What a finished instance job did; in-memory maps and rows when nothing was written."""

    outputs: dict[str, Path]
    objects: int
    roi: Box
    tile: int
    halo: int
    tiles: int
    seconds: float
    backend: str
    notices: tuple[str, ...] = ()
    instances: np.ndarray | None = field(default=None, repr=False)
    classes: np.ndarray | None = field(default=None, repr=False)
    rows: tuple[ObjectRow, ...] = field(default=(), repr=False)


def check_instance_model(meta: ModelMeta, name: str) -> None:
    """Raise unless ``meta`` is an instance model that tiles exactly."""
    if meta.task != "instance":
        raise InferenceError(
            f"{name} is a semantic model (one class per pixel, no objects); "
            "ask it for a class map, or use an instance model for objects"
        )
    if not meta.exact or meta.receptive_field is None:
        raise InferenceError(
            f"{name} has no bounded receptive field, so its objects cannot be stitched "
            "exactly across tiles; retrain or re-probe it"
        )


def model_grouping(meta: ModelMeta) -> Grouping:
    """The grouping a model was trained and tuned with (defaults for other files)."""
    return Grouping.from_json(dict(meta.extra.get("instance", {})))


def max_object(grouping: Grouping) -> int:
    """The stitching margin: the largest object side kept whole across tiles."""
    return DEFAULT_MAX_OBJECT if grouping.max_object is None else grouping.max_object


def infer_instances(
    source: ImageSource | str | Path,
    model: ModelLike | str | Path,
    outputs: InstanceOutputs | None = None,
    *,
    options: InferOptions | None = None,
    grouping: Grouping | None = None,
) -> Job[InstanceResult]:
    """Run instance ``model`` over ``source`` and write the objects to ``outputs``.

    Parameters
    ----------
    source, model
        As for :func:`segcore.engine.infer`; the model must be an instance model.
    outputs
        Files to write; None (or all fields None) keeps the maps and rows in memory.
    options
        As for :func:`segcore.engine.infer` (mode is exact; ``halo`` defaults to
        the receptive field plus :func:`max_object`; ``score`` is not used).
    grouping
        Thresholds and the largest object side, :class:`Grouping`; None: the
        model's own (:func:`model_grouping`).

    Returns
    -------
    Job[InstanceResult]
        Yields one Progress per tile (``rate`` in pixels/s) and one per finished
        band of rows, whose payload is that :class:`InstanceBand`. Raises
        InferenceError / ModelError here for a request that cannot work.
    """
    options = options or InferOptions()
    outs = outputs or InstanceOutputs()
    _check_outputs(outs, source, model)
    ref = open_model(model)
    check_instance_model(ref.meta, ref.name)
    grouping = grouping or model_grouping(ref.meta)
    if options.mode == "blend":
        raise InferenceError("instance models run in exact mode only; leave --mode at auto")
    if options.score != "none":
        raise InferenceError(
            "a score map is a semantic output; instance models give a score per object "
            "in the object table"
        )
    margin = max_object(grouping)
    assert ref.meta.receptive_field is not None
    halo = options.halo if options.halo is not None else ref.meta.receptive_field + margin
    options = replace(options, mode="exact", halo=halo, logits=False)
    src, owns = open_source(source)
    try:
        setup = prepare(src, model, options, owns_source=owns)
        preparer = Preparer(src, norm=setup.model.meta.normalization, bands=options.bands)
    except BaseException:
        if owns:
            src.close()
        raise
    return _run(setup, preparer, outs, options, grouping, margin)


def _check_outputs(
    outs: InstanceOutputs, source: ImageSource | str | Path, model: ModelLike | str | Path
) -> None:
    """Before any work: known types, never onto an input or each other; stale parts swept."""
    named = [("--instances", outs.instances), ("-o", outs.classes), ("--objects", outs.table),
             ("--polygons", outs.polygons)]  # fmt: skip
    guard_outputs([(what, Path(p)) for what, p in named if p is not None], source, model)
    for path in (outs.instances, outs.classes):
        if path is not None:
            check_output(path)
            if Path(path).suffix.lower() == ".png" and path == outs.instances:
                raise InferenceError(f"{path}: instance ids need 32 bits; write .tif or .zarr")
    if outs.table is not None:
        check_table(Path(outs.table), TABLE_SUFFIXES)
    if outs.polygons is not None:
        check_table(Path(outs.polygons), POLYGON_SUFFIXES)


class _Sinks:
    """The job's output files, committed together or all removed."""

    def __init__(self, setup: Setup, plan: TilePlan, outs: InstanceOutputs) -> None:
        meta, roi = setup.source.metadata, plan.roi
        transform = meta.transform
        if transform is not None:
            a, b, c, d, e, f = transform
            transform = (a, b, a * roi.x + b * roi.y + c, d, e, d * roi.x + e * roi.y + f)
        classes = setup.model.meta.classes
        self.instances = self.classes = None
        self.table: TableWriter | None = None
        self.polygons: PolygonWriter | None = None
        self._names: list[tuple[str, WriterThread | TableWriter | PolygonWriter]] = []
        if outs.instances is not None:
            spec = OutputSpec(roi.w, roi.h, meta.crs, transform, (), None, dtype="uint32")
            self.instances = WriterThread(open_sink(outs.instances, spec))
            self._names.append(("instances", self.instances))
        if outs.classes is not None:
            spec = OutputSpec(roi.w, roi.h, meta.crs, transform, classes, UNLABELLED)
            self.classes = WriterThread(open_sink(outs.classes, spec))
            self._names.append(("classes", self.classes))
        if outs.table is not None:
            self.table = TableWriter(Path(outs.table), classes)
            self._names.append(("table", self.table))
        if outs.polygons is not None:
            full = meta.transform
            self.polygons = PolygonWriter(Path(outs.polygons), classes, crs=meta.crs,
                                          transform=full)  # fmt: skip
            self._names.append(("polygons", self.polygons))

    @property
    def any(self) -> bool:
        return bool(self._names)

    def band(self, band: InstanceBand) -> None:
        if self.instances is not None:
            self.instances.write(band.instances)
        if self.classes is not None:
            self.classes.write(band.classes)

    def commit(self) -> dict[str, Path]:
        """Finish every output, then rename them all into place (or none)."""
        pairs = [w.finish() for _, w in self._names]
        return dict(zip((name for name, _ in self._names), publish(pairs), strict=True))

    def abort(self) -> None:
        for _, w in self._names:
            w.abort()


def _run(
    setup: Setup,
    preparer: Preparer,
    outs: InstanceOutputs,
    options: InferOptions,
    grouping: Grouping,
    margin: int,
) -> Job[InstanceResult]:
    meta, source = setup.model.meta, setup.source
    reader: TileReader | None = None
    runner: Runner | None = None
    sinks: _Sinks | None = None
    committed = False
    try:
        runner, notices = yield from make_runner(
            setup.model,
            device=setup.device,
            backend=options.backend,
            precision=options.precision,
            pixels=output_pixels(source.width, source.height, options),
        )
        plan = tile_plan(source.width, source.height, meta=meta, mode="exact",
                         options=options, in_strips=runner.in_strips)  # fmt: skip
        sinks = _Sinks(setup, plan, outs)
        keep = not sinks.any
        roi = plan.roi
        memory = _Memory(roi) if keep else None
        stitcher = Stitcher(roi, margin=margin, image=Box(0, 0, source.width, source.height))
        notices = setup.notices + notices
        if notices:
            yield Progress(0, plan.count, message="; ".join(notices))
        reader = TileReader(preparer, plan.tiles(), workers=options.workers, depth=2)
        tiles = iter(reader)
        start, done, count, pixels, truncated = time.monotonic(), 0, 0, 0, 0
        for r, row in enumerate(plan.rows):
            for _ in row:
                data = next(tiles)
                owned = _tile_objects(runner, data, stitcher, margin, source, meta, grouping)
                count += len(owned.rows)
                truncated += owned.truncated
                if sinks.table is not None:
                    sinks.table.write(owned.rows)
                if sinks.polygons is not None:
                    sinks.polygons.write(owned)
                if memory is not None:
                    memory.rows.extend(owned.rows)
                done += 1
                pixels += data.tile.core.area
                rate = pixels / max(time.monotonic() - start, 1e-9)
                yield Progress(done, plan.count, rate=rate)
            last = r + 1 == len(plan.rows)
            band = (
                stitcher.finish() if last else stitcher.release(plan.rows[r + 1][0].core.y - margin)
            )
            if band is not None:
                sinks.band(band)
                if memory is not None:
                    memory.put(band)
                yield Progress(done, plan.count, payload=[band])
        if truncated:
            note = (
                f"{truncated} object(s) reach the stitching margin of {margin} px and may be "
                "cut at tile borders; run again with a larger max_object (--max-object)"
            )
            notices += (note,)
            yield Progress(done, plan.count, message=note)
        final = sinks.commit()
        committed = True
        return InstanceResult(
            outputs=final,
            objects=count,
            roi=roi,
            tile=max(plan.tile_w, plan.tile_h),
            halo=plan.halo,
            tiles=plan.count,
            seconds=time.monotonic() - start,
            backend=runner.name,
            notices=notices,
            instances=None if memory is None else memory.instances,
            classes=None if memory is None else memory.classes,
            rows=() if memory is None else tuple(memory.rows),
        )
    finally:
        if reader is not None:
            reader.close()
        if sinks is not None and not committed:
            sinks.abort()
        if runner is not None:
            runner.close()
        setup.close()


def _tile_objects(
    runner: Runner,
    data: TileData,
    stitcher: Stitcher,
    margin: int,
    source: ImageSource,
    meta: ModelMeta,
    grouping: Grouping,
) -> Owned:
    """Run one tile, group its widened core and hand the objects to the stitcher."""
    tile = data.tile
    window = _window(tile, margin, source.width, source.height)
    if data.pixels is None:  # all nodata: nothing to group, the core is unlabelled
        everywhere = np.ones((tile.core.h, tile.core.w), bool)
        return stitcher.add(tile.core, window, _no_objects(window), everywhere)
    out = runner.run([data.pixels], logits=True, score="none")[0]
    assert out.logits is not None
    ry, rx = window.y - tile.read.y, window.x - tile.read.x
    dense = out.logits[:, ry : ry + window.h, rx : rx + window.w]
    valid = None
    core_invalid = None
    if data.invalid is not None:
        invalid = data.invalid[ry : ry + window.h, rx : rx + window.w]
        valid = ~invalid
        cy, cx = tile.core.y - window.y, tile.core.x - window.x
        core_invalid = invalid[cy : cy + tile.core.h, cx : cx + tile.core.w]
    objects = group(dense, valid=valid, classes=meta.num_classes, options=grouping)
    return stitcher.add(tile.core, window, objects, core_invalid)


def _window(tile: Tile, margin: int, width: int, height: int) -> Box:
    """The tile's core widened by ``margin``, inside the read window and the image."""
    core, read = tile.core, tile.read
    return Box.from_bounds(
        max(core.x - margin, read.x, 0),
        max(core.y - margin, read.y, 0),
        min(core.x1 + margin, read.x1, width),
        min(core.y1 + margin, read.y1, height),
    )


def _no_objects(window: Box) -> Objects:
    return Objects(
        np.zeros((window.h, window.w), np.int32),
        np.zeros(0, np.int64),
        np.zeros(0, np.float64),
        np.zeros((0, 2), np.int64),
    )


class _Memory:
    """In-memory maps and rows of a job that writes no file."""

    def __init__(self, roi: Box) -> None:
        self.top = roi.y
        self.instances = np.zeros((roi.h, roi.w), np.uint32)
        self.classes = np.zeros((roi.h, roi.w), np.uint8)
        self.rows: list[ObjectRow] = []

    def put(self, band: InstanceBand) -> None:
        rows = slice(band.y - self.top, band.y - self.top + band.height)
        self.instances[rows] = band.instances
        self.classes[rows] = band.classes
