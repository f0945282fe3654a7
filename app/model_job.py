"""The model run the Model dock starts, and helpers around it (no widgets).

:func:`model_job` is a generator run in a worker thread: it calls
:func:`segcore.engine.infer` on a region and passes its ``Progress`` items
through; each carries the finished :class:`~segcore.engine.TilePatch` es,
which :func:`patches` unpacks for the prediction layer. :func:`volume_job`
runs whole slices of a volume into the prediction's label volume.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import InferenceError
from segcore.io.source import ImageSource
from segcore.jobs import Job
from segcore.labels.store import LabelStore

# A run from the app keeps its result in memory (class map + confidence, with
# overviews); beyond this many pixels the command line (`tessera infer`), which
# streams to a file, is the right tool.
MAX_APP_PIXELS = 64_000_000


@dataclass(frozen=True)
class RunOptions:
    """Choices of the Model dock."""

    device: str = "auto"
    tile: int | None = None
    halo: int | None = None
    batch: int | None = None


def model_job(
    model_path: Path,
    source: ImageSource,
    box: tuple[int, int, int, int],
    options: RunOptions,
) -> Job[Any]:
    """Run the model file on level-0 ``box`` (x, y, w, h) of ``source``, streaming tiles."""
    from segcore.engine import InferOptions, infer

    x, y, w, h = box
    if w * h > MAX_APP_PIXELS:
        raise InferenceError(
            f"the region is {w} x {h} pixels; the app runs models on up to "
            f"{MAX_APP_PIXELS // 1_000_000} megapixels at a time. Zoom in or draw a smaller "
            f"rectangle, or segment the whole image with `tessera infer {source.path} "
            f"{model_path} OUTPUT.tif`"
        )
    infer_options = InferOptions(
        tile=options.tile,
        halo=options.halo,
        batch=options.batch,
        device=options.device,
        roi=box,
        score="confidence",
        keep=False,  # the tiles go to the prediction layer as they come; no second copy
        # An .onnx file runs in onnxruntime; a PyTorch model stays in torch (exporting it
        # to ONNX costs seconds up front, not worth it for a view-sized region).
        backend="onnx" if model_path.suffix.lower() == ".onnx" else "torch",
    )
    return (yield from infer(source, model_path, None, options=infer_options))


def patches(payload: Any) -> Iterator[tuple[int, int, np.ndarray, np.ndarray | None]]:
    """(x, y, class ids, confidence or None) of each finished tile in a Progress payload."""
    if payload is None:
        return
    items = payload if isinstance(payload, list | tuple) else [payload]
    for patch in items:
        yield int(patch.x), int(patch.y), patch.labels, getattr(patch, "score", None)


def volume_job(
    model_path: Path,
    source: ImageSource,
    into: LabelStore,
    slices: Sequence[int],
    options: RunOptions,
    lock: AbstractContextManager[object],
) -> Job[Any]:
    """Run the model file on whole ``slices`` of a volume, each written into ``into``.

    The ``Progress`` ending a slice carries its index (see
    :func:`segcore.engine.volume.infer_volume`); ``lock`` is held while a slice is written.
    """
    from segcore.engine import InferOptions
    from segcore.engine.volume import infer_volume

    infer_options = InferOptions(
        tile=options.tile,
        halo=options.halo,
        batch=options.batch,
        device=options.device,
        backend="onnx" if model_path.suffix.lower() == ".onnx" else "torch",
    )
    job = infer_volume(source, model_path, into, slices=slices, options=infer_options, lock=lock)
    return (yield from job)
