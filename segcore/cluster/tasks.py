"""What runs on a worker: the check before any tile, a part, a seam, the finished file.

Every function here is submitted by :mod:`segcore.cluster.job` and runs in a
worker process. A part runs its plan rows through the engine's own pieces (the
:class:`~segcore.engine.reader.Preparer` and
:class:`~segcore.engine.reader.TileReader`, the worker's kept runner, the
:class:`~segcore.engine.merger.ExactMerger`), writes the chunk rows it holds
whole into the image's zarr store and returns the rest as pieces for the seams.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from segcore.cluster.parts import Part, Seam, owned
from segcore.cluster.ship import RunnerSpec, Shipment, worker_runner
from segcore.engine.merger import Band, BlendMerger, ExactMerger
from segcore.engine.options import Window
from segcore.engine.reader import Preparer, TileData, TileReader
from segcore.engine.runners import TileOutput
from segcore.engine.tiling import TilePlan
from segcore.engine.writers import BLOCK, OutputSpec, open_sink
from segcore.errors import InferenceError
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED


@dataclass(frozen=True)
class ImageWork:
    """One image as its tasks need it: where it is, how it is cut, where it goes."""

    image: str
    bands: tuple[int, ...] | None
    plan: TilePlan
    mode: Literal["exact", "blend"]
    window: Window
    runner: RunnerSpec
    batch: int
    store: str  # the zarr store the parts write (hidden, renamed or converted at the end)
    output: str  # the finished file
    spec: OutputSpec
    chunk: int
    readers: int  # reading threads per task
    cog: bool


@dataclass(frozen=True)
class PartResult:
    """Rows of chunk rows this part shares with a neighbour: (store row, rows)."""

    pieces: tuple[tuple[int, np.ndarray], ...]
    skipped: int


def preflight(ship: Shipment, specs: tuple[RunnerSpec, ...], image: str, probe: str) -> str:
    """Check this worker before any tile: it can load the model, read the image and
    write the output folder. Returns what is wrong (one line) or ``""``."""
    import socket

    where = f"worker on {socket.gethostname()} (pid {os.getpid()})"
    strips = []
    try:
        for spec in specs:
            strips.append(worker_runner(ship, spec).in_strips)
    except ImportError as exc:
        return (
            f"{where} cannot load {ship.name}: {exc}; install tessera with its dependencies "
            "in the workers' environment"
        )
    except Exception as exc:
        return f"{where} cannot load {ship.name}: {exc}"
    if not Path(image).exists():
        return f"{where} cannot see the image {image}; put the images on a path every worker mounts"
    try:
        import zarr

        zarr.open_array(probe, mode="r+")
    except Exception:
        return (
            f"{where} cannot see the output folder {Path(probe).parent}; write the output to "
            "a folder every worker mounts (the same path on every machine)"
        )
    return "strips:" + ",".join(str(int(s)) for s in strips)


def run_part(ship: Shipment, work: ImageWork, part: Part) -> PartResult:
    """Run ``part``'s plan rows; write its whole chunk rows; return the shared ones."""
    import zarr

    from segcore.io import open_image

    plan = work.plan
    rows = plan.rows[part.rows[0] : part.rows[1]]
    roi = Box(plan.roi.x, plan.roi.y + part.y0, plan.roi.w, part.y1 - part.y0)
    sub = TilePlan(rows, roi, plan.tile_w, plan.tile_h, plan.halo)
    runner = worker_runner(ship, work.runner)
    array = zarr.open_array(work.store, mode="r+")
    out = _Rows(array, part, work.chunk, plan.roi.h)
    classes = ship.meta.num_classes
    blend = work.mode == "blend"
    merger = (
        BlendMerger(sub, score="none", classes=classes, logits=False, window=work.window)
        if blend
        else ExactMerger(sub, score="none", classes=classes, logits=False)
    )
    skipped = 0
    source = open_image(work.image)
    try:
        preparer = Preparer(source, norm=ship.meta.normalization, bands=work.bands)
        with TileReader(preparer, sub.tiles(), workers=work.readers, depth=work.batch + 1) as rd:
            group: list[TileData] = []
            for data in rd:
                group.append(data)
                if sum(d.pixels is not None for d in group) >= work.batch:
                    skipped += _merge(runner, group, merger, out, blend)
                    group = []
            skipped += _merge(runner, group, merger, out, blend)
        out.add(merger.finish())
    finally:
        source.close()
    return PartResult(out.finish(), skipped)


def _merge(runner: Any, group: list[TileData], merger: Any, out: _Rows, blend: bool) -> int:
    todo = [d.pixels for d in group if d.pixels is not None]
    results = iter(runner.run(todo, logits=blend, score="none") if todo else [])
    for data in group:
        result: TileOutput | None = None if data.pixels is None else next(results)
        bands, _ = merger.add(data, result)
        out.add(bands)
    return sum(d.pixels is None for d in group)


class _Rows:
    """A part's finished rows: whole chunk rows go to the store, the rest become pieces."""

    def __init__(self, array: Any, part: Part, chunk: int, height: int) -> None:
        self.array, self.part = array, part
        self.a, self.b = owned(part, chunk=chunk, height=height)
        self.top = part.y0
        self.chunk = chunk
        self.buffer: list[np.ndarray] = []
        self.pieces: list[tuple[int, np.ndarray]] = []

    def add(self, bands: list[Band]) -> None:
        for band in bands:
            self.buffer.append(band.labels)
        have = self.top + sum(b.shape[0] for b in self.buffer)
        while (end := self._cut(have)) > self.top:
            self._flush(end)

    def _cut(self, have: int) -> int:
        """How far the buffer can go out now: a chunk boundary, the owned end or a piece end."""
        if self.top < self.a:  # the leading piece
            return self.a if have >= self.a else self.top
        if self.top < self.b:
            return min(have, self.b) // self.chunk * self.chunk if have < self.b else self.b
        return self.top  # the trailing piece waits for finish()

    def _flush(self, end: int) -> None:
        rows = np.concatenate(self.buffer) if len(self.buffer) > 1 else self.buffer[0]
        take, rest = rows[: end - self.top], rows[end - self.top :]
        if self.top < self.a:
            self.pieces.append((self.top, take.copy()))
        else:
            self.array[self.top : end] = take  # whole chunk rows: aligned region write
        self.buffer = [rest] if len(rest) else []
        self.top = end

    def finish(self) -> tuple[tuple[int, np.ndarray], ...]:
        if self.buffer:
            rows = np.concatenate(self.buffer)
            if self.top + len(rows) != self.part.y1:
                raise InferenceError(f"part {self.part.index} produced the wrong number of rows")
            self.pieces.append((self.top, rows))
        elif self.top != self.part.y1:
            raise InferenceError(f"part {self.part.index} produced the wrong number of rows")
        return tuple(self.pieces)


def write_seam(work: ImageWork, seam: Seam, *results: PartResult) -> int:
    """Join the pieces of one shared chunk row and write it; returns its row count."""
    import zarr

    array = zarr.open_array(work.store, mode="r+")
    rows = np.full((seam.y1 - seam.y0, work.spec.width), UNLABELLED, np.uint8)
    filled = np.zeros(seam.y1 - seam.y0, np.int32)
    for result in results:
        for y, piece in result.pieces:
            a, b = max(y, seam.y0), min(y + len(piece), seam.y1)
            if b > a:
                rows[a - seam.y0 : b - seam.y0] = piece[a - y : b - y]
                filled[a - seam.y0 : b - seam.y0] += 1
    if not (filled == 1).all():
        raise InferenceError(f"rows {seam.y0}..{seam.y1} of {work.output} were not all produced")
    array[seam.y0 : seam.y1] = rows
    return len(rows)


def finish_image(work: ImageWork, *done: object) -> str:
    """Make the finished file from the store: renamed (zarr) or converted (TIFF, COG, PNG)."""
    store, final = Path(work.store), Path(work.output)
    if final.suffix.lower() == ".zarr":
        if final.is_dir():
            shutil.rmtree(final)
        os.replace(store, final)
        return str(final)
    import zarr

    array = zarr.open_array(str(store), mode="r")
    sink = open_sink(final, work.spec)
    try:
        rows = (np.asarray(array[y : y + BLOCK]) for y in range(0, work.spec.height, BLOCK))
        sink.consume(rows)
        if work.cog:
            _to_cog(sink.temp)
        os.replace(sink.temp, final)
    except BaseException:
        sink.temp.unlink(missing_ok=True)
        raise
    shutil.rmtree(store, ignore_errors=True)
    return str(final)


def _to_cog(path: Path) -> None:
    """Rewrite a tiled GeoTIFF as a Cloud Optimized GeoTIFF (nearest-neighbour overviews)."""
    import rasterio.shutil

    cog = path.with_name(path.name + ".cog")
    try:
        rasterio.shutil.copy(
            str(path), str(cog), driver="COG", COMPRESS="DEFLATE", OVERVIEW_RESAMPLING="NEAREST"
        )
        os.replace(cog, path)
    finally:
        cog.unlink(missing_ok=True)
