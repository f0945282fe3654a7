"""Options and result of an inference job."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from segcore.engine.runners import Precision, Score
from segcore.labels.box import Box

Mode = Literal["auto", "exact", "blend"]
Backend = Literal["auto", "torch", "onnx"]
Window = Literal["gaussian", "cosine"]  # blend weights


@dataclass(frozen=True)
class InferOptions:
    """How to run a model over an image; every field has a sensible default.

    Attributes
    ----------
    tile, halo
        Tile side and overlap margin in pixels. Defaults: in exact mode the halo
        is the model's measured receptive field and the tile is large enough
        that the halo costs little; in blend mode the model's tile size and a
        halo of tile / 8 (25 % overlap).
    batch
        Tiles per forward pass (default 1 on CPU, 4 on CUDA).
    device
        ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    mode
        ``"exact"`` (tile cores equal a whole-image pass), ``"blend"``
        (weighted average of overlapping tiles) or ``"auto"`` (exact when the
        model's probe says it can be).
    window
        Blend weights, ``"gaussian"`` or ``"cosine"``.
    precision
        CUDA autocast type; ``"auto"`` is bf16 where supported, else fp16. CPU is fp32.
    backend
        ``"torch"``, ``"onnx"`` (export the model to an onnxruntime session) or
        ``"auto"`` (onnxruntime on CPU for jobs big enough to repay the export).
    roi
        ``(x, y, w, h)`` in full-resolution pixels; the output covers just this.
    mask
        Boolean array covering the image at any resolution: only tiles whose
        owned pixels meet a True pixel are run; the rest is UNLABELLED.
    bands
        1-based band numbers to feed the model, e.g. ``(4, 3, 2)``.
    score, score_path
        An extra uint8 map: ``"confidence"`` (255 x top softmax probability),
        ``"entropy"`` (255 x normalised entropy) or ``"margin"`` (255 x (1 -
        the gap between the two best probabilities)), written to ``score_path``
        (or returned in memory when there is no output file).
    keep
        With no output file, keep the class map (and score) in memory for the
        result; False: only stream them as ``TilePatch`` payloads (a caller that
        aggregates as tiles arrive needs no image-sized array).
    logits
        Keep float32 logits in the result (in-memory output only; for tests
        and benchmarks, it needs classes x 4 bytes per pixel).
    workers
        Reading threads.
    """

    tile: int | None = None
    halo: int | None = None
    batch: int | None = None
    device: str = "auto"
    mode: Mode = "auto"
    window: Window = "gaussian"
    precision: Precision = "auto"
    backend: Backend = "auto"
    roi: tuple[int, int, int, int] | None = None
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    bands: tuple[int, ...] | None = None
    score: Score = "none"
    score_path: str | Path | None = None
    logits: bool = False
    keep: bool = True
    workers: int = 2


@dataclass(frozen=True)
class InferResult:
    """What a finished job did. In-memory outputs are set when ``output`` was None."""

    output: Path | None
    score_output: Path | None
    roi: Box
    mode: Literal["exact", "blend"]
    backend: str
    tile: int
    halo: int
    tiles: int
    skipped: int
    seconds: float
    notices: tuple[str, ...] = ()
    labels: np.ndarray | None = field(default=None, repr=False)
    score: np.ndarray | None = field(default=None, repr=False)
    logits: np.ndarray | None = field(default=None, repr=False)

    @property
    def pixels(self) -> int:
        return self.roi.w * self.roi.h

    @property
    def mpx_per_s(self) -> float:
        return self.pixels / 1e6 / self.seconds if self.seconds > 0 else 0.0
