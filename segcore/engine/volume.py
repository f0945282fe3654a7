"""A 2-D model over a volume, slice by slice, into a label volume.

Each slice goes through :func:`segcore.engine.infer.infer` as a one-plane
image (:class:`~segcore.io.plane.PlaneSource`), so tiling, exactness and
nodata handling are the engine's own; the slice's class map is written into
``into.plane(z)`` (a label volume, e.g. a scratch store that the CLI turns into
NIfTI on the image's grid, which keeps its spacing and orientation). Memory
is one slice's class map on top of the engine's tiles. Closing the job stops
it after the slice being run; slices already written stay written. The
``Progress`` that ends a slice carries its index ``z`` as payload, and a
``lock`` (the app's labels lock) is held while a slice is written, so readers
in other threads never see half a slice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from segcore.engine.backend import ModelLike
from segcore.engine.infer import infer
from segcore.engine.options import InferOptions
from segcore.engine.request import open_source
from segcore.errors import InferenceError
from segcore.io.plane import PlaneSource
from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress, relay
from segcore.labels.schema import NO_INSTANCE
from segcore.labels.store import LabelStore


@dataclass(frozen=True)
class VolumeInferResult:
    """What a volume job did: the slices run, in order, and the seconds it took."""

    slices: tuple[int, ...]
    seconds: float
    labelled_voxels: int


def slice_range(text: str, depth: int) -> tuple[int, ...]:
    """Slices from ``"all"``, ``"12"`` or ``"10:20"`` (0-based, end excluded), checked.

    >>> slice_range("3:6", 10), slice_range("all", 3), slice_range("4", 10)
    ((3, 4, 5), (0, 1, 2), (4,))
    """
    if text == "all":
        return tuple(range(depth))
    try:
        if ":" in text:
            a, b = (int(v) if v else d for v, d in zip(text.split(":", 1), (0, depth), strict=True))
            chosen = tuple(range(a, b))
        else:
            chosen = (int(text),)
    except ValueError:
        raise InferenceError(f"slices {text!r}: write all, N or FIRST:END") from None
    if not chosen or min(chosen) < 0 or max(chosen) >= depth:
        raise InferenceError(f"slices {text!r} are not within the volume's 0..{depth - 1}")
    return chosen


def infer_volume(
    source: ImageSource | str | Path,
    model: ModelLike | str | Path,
    into: LabelStore,
    *,
    slices: Sequence[int] | None = None,
    options: InferOptions | None = None,
    lock: AbstractContextManager[object] | None = None,
) -> Job[VolumeInferResult]:
    """Run ``model`` on ``slices`` (default: all) of ``source``, writing each into ``into``.

    Progress counts pixels over all slices. Raises InferenceError if ``into``
    is not a label volume of the source's size and depth.
    """
    import time

    src, owns = open_source(source)
    try:
        if (into.width, into.height, into.depth) != (src.width, src.height, src.depth):
            raise InferenceError(
                f"{src.path}: the label volume is {into.width}x{into.height}x{into.depth} but "
                f"the image is {src.width}x{src.height}x{src.depth}"
            )
        chosen = tuple(range(src.depth)) if slices is None else tuple(slices)
        options = replace(options or InferOptions(), keep=True)
        per_slice, total = src.width * src.height, src.width * src.height * len(chosen)
        start = time.perf_counter()
        no_instances = np.full((src.height, src.width), NO_INSTANCE, np.uint32)
        for i, z in enumerate(chosen):
            done = i * per_slice
            step = _rescale(done, per_slice, total, f"slice {z + 1} of {src.depth}")
            result = yield from relay(
                infer(PlaneSource(src, z), model, None, options=options), step
            )
            assert result.labels is not None
            with lock or nullcontext():
                plane = into.plane(z)
                plane.write("semantic", 0, 0, np.ascontiguousarray(result.labels, np.uint8))
                plane.write("instance", 0, 0, no_instances)
            yield Progress(
                done + per_slice, total, message=f"slice {z + 1} of {src.depth}", payload=z
            )
        labelled = int(into.slice_counts()[list(chosen)].sum()) if chosen else 0
        return VolumeInferResult(chosen, time.perf_counter() - start, labelled)
    finally:
        if owns:
            src.close()


def _rescale(done: int, span: int, total: int, message: str) -> Callable[[Progress], Progress]:
    """A slice's progress as a part of the whole volume's."""

    def step(p: Progress) -> Progress:
        return Progress(done + int(p.fraction * span), total, message=message, rate=p.rate)

    return step
