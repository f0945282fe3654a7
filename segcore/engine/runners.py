"""Run a batch of tiles through a model and reduce the logits to class ids.

Two runners share one small interface (:class:`Runner`):

* :class:`TorchRunner` runs an ``nn.Module``: channels-last, inference mode;
  on CUDA also autocast (bf16 where supported, else fp16), a reused pinned
  host buffer with non-blocking copies, and the argmax / confidence done on the
  GPU so only uint8 maps come back.
* :class:`OnnxRunner` runs an onnxruntime session: a user's ``.onnx`` file, or
  one exported from a PyTorch model (:mod:`segcore.models.onnx_cache`), which on
  CPU is usually much faster than eager PyTorch (see ``docs/bench/infer.md``).

Scores are uint8, 255 x a value in [0, 1] (:func:`score_map`): confidence is the
top softmax probability; entropy is ``H / log(classes)`` and margin ``1 - (p1 - p2)``
(0 = certain), what uncertainty ranking reads.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from segcore.errors import InferenceError, ModelError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from segcore.models.onnx_split import SplitModel

Score = Literal["none", "confidence", "entropy", "margin"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
STRIP_PIXELS = 1 << 19  # pixels per strip of a split model's tail; ~300 B each for an smp U-Net


@dataclass(frozen=True)
class TileOutput:
    """What a tile gives back: uint8 class ids (h, w), an optional uint8 score
    map (h, w) and, when asked for, float32 logits (classes, h, w)."""

    labels: np.ndarray
    score: np.ndarray | None = None
    logits: np.ndarray | None = None


class Runner(Protocol):
    name: str

    @property
    def in_strips(self) -> bool:
        """Whether tiles run in row strips (they may then be larger: less memory per pixel)."""
        ...

    def run(self, batch: list[np.ndarray], *, logits: bool, score: Score) -> list[TileOutput]:
        """Run tiles given as float32 (h, w, bands) arrays of one shape."""
        ...

    def close(self) -> None: ...


def reduce_logits(logits: np.ndarray, score: Score) -> tuple[np.ndarray, np.ndarray | None]:
    """Class ids and uint8 score map (255 x :func:`score_map`) of logits shaped (classes, ...)."""
    labels = logits.argmax(axis=0).astype(np.uint8)
    if score == "none":
        return labels, None
    shifted = logits - logits.max(axis=0, keepdims=True)
    expd = np.exp(shifted)
    total = expd.sum(axis=0)
    classes = logits.shape[0]
    if score == "confidence":
        value = 255.0 / total  # the top class has exp(0) = 1
    elif score == "entropy":
        logp = shifted - np.log(total)
        entropy = -(expd / total * logp).sum(axis=0)
        value = entropy * (255.0 / max(math.log(classes), 1e-12))
    elif classes < 2:
        value = np.zeros(total.shape)
    else:
        top2 = np.partition(expd / total, classes - 2, axis=0)[classes - 2 :]
        value = 255.0 * (1.0 - (top2[1] - top2[0]))
    return labels, np.clip(np.rint(value), 0, 255).astype(np.uint8)


def score_map(logp: torch.Tensor, score: Score, *, dim: int = 1) -> torch.Tensor:
    """Per-pixel score in [0, 1] of log-probabilities over classes along ``dim``.

    ``confidence`` is the top probability; ``entropy`` is ``-sum p log p / log C``
    (1 when every class is equally likely); ``margin`` is ``1 - (p1 - p2)``
    (1 when the two best classes tie). :func:`reduce_logits` is the NumPy twin.
    """
    import torch

    classes = logp.shape[dim]
    if score == "confidence":
        return logp.amax(dim=dim).exp()
    if score == "entropy":
        entropy = -(logp.exp() * logp).sum(dim=dim)
        return (entropy / max(math.log(classes), 1e-12)).clamp(0.0, 1.0)
    if score == "margin":
        if classes < 2:
            return torch.zeros_like(logp.select(dim, 0))
        top2 = logp.exp().topk(2, dim=dim).values
        return 1.0 - (top2.select(dim, 0) - top2.select(dim, 1))
    raise InferenceError(f"unknown score {score!r}; use confidence, entropy or margin")


def _reduce_torch(logits: torch.Tensor, score: Score) -> tuple[torch.Tensor, torch.Tensor | None]:
    import torch

    labels = logits.argmax(dim=1).to(torch.uint8)
    if score == "none":
        return labels, None
    value = score_map(torch.log_softmax(logits, dim=1), score, dim=1) * 255.0
    return labels, value.round().clamp(0, 255).to(torch.uint8)


def _first_tensor(out: Any) -> torch.Tensor:
    """Logits from a module's output (torchvision models return {"out": ...})."""
    if isinstance(out, dict):
        out = out["out"]
    elif isinstance(out, list | tuple):
        out = out[0]
    return out  # type: ignore[no-any-return]


class TorchRunner:
    """Eager PyTorch on CPU or CUDA. The module is moved to ``device`` in place."""

    name = "torch"

    def __init__(self, module: nn.Module, *, device: str, precision: Precision = "auto") -> None:
        import torch

        try:
            self.device = torch.device(device)
        except RuntimeError as exc:
            raise InferenceError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from exc
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InferenceError(f"device {device!r} asked for, but no CUDA GPU is available")
        cuda = self.device.type == "cuda"
        if precision == "auto":
            precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
        self.precision = precision
        self._dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.module = module.to(self.device).to(memory_format=torch.channels_last).eval()
        self._pinned: torch.Tensor | None = None
        self.name = f"torch-{self.device.type}-{precision}"

    @property
    def in_strips(self) -> bool:
        return False

    def run(self, batch: list[np.ndarray], *, logits: bool, score: Score) -> list[TileOutput]:
        import torch

        host = torch.from_numpy(np.stack(batch))  # N, H, W, C
        cuda = self.device.type == "cuda"
        if cuda:
            if self._pinned is None or self._pinned.shape != host.shape:
                self._pinned = torch.empty(host.shape, dtype=host.dtype, pin_memory=True)
            self._pinned.copy_(host)
            host = self._pinned.to(self.device, non_blocking=True)
        x = host.permute(0, 3, 1, 2)  # NCHW view with channels-last strides, no copy
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype=self._dtype, enabled=self._dtype is not None),
        ):
            out = _first_tensor(self.module(x))
        out = out.float()
        labels, value = _reduce_torch(out, score)
        labels_np = labels.cpu().numpy()
        value_np = None if value is None else value.cpu().numpy()
        logits_np = out.cpu().numpy() if logits else None
        if cuda:
            torch.cuda.synchronize(self.device)  # the pinned buffer is reused next batch
        return [
            TileOutput(
                labels_np[i],
                None if value_np is None else value_np[i],
                None if logits_np is None else logits_np[i],
            )
            for i in range(len(batch))
        ]

    def close(self) -> None:
        self._pinned = None


class OnnxRunner:
    """An onnxruntime session from a file path or serialised model bytes.

    With ``strips`` (CPU only) a U-Net-like model is split so its
    high-resolution end runs in row strips (:mod:`segcore.models.onnx_split`):
    the same logits in less than half the memory per tile pixel, so tiles can
    be larger and the halo costs less. Models that cannot be split run whole.
    """

    name = "onnx"

    def __init__(
        self,
        model: str | Path | bytes,
        *,
        device: str = "cpu",
        label: str = "",
        strips: bool = False,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        self._threads = threads  # onnxruntime's intra-op threads; None: its default (cores)
        self._providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            self._providers.insert(0, "CUDAExecutionProvider")
        self._where = label or (str(model) if not isinstance(model, bytes) else "the model")
        self._split: SplitModel | None = None
        if strips and len(self._providers) == 1:
            self._split = self._try_split(model)
        self._session: Any = self._split.head if self._split else self._open(model)
        self._input = self._session.get_inputs()[0].name
        self.name = "onnx-" + self._session.get_providers()[0].replace("ExecutionProvider", "")
        self.name += "-strips" if self._split else ""

    @property
    def in_strips(self) -> bool:
        return self._split is not None

    def _open(self, model: str | Path | bytes) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # the arena keeps its peak; ~25 % more RSS
        if self._threads is not None:  # several workers on one machine: a share each
            options.intra_op_num_threads = self._threads
        source = model if isinstance(model, bytes) else str(model)
        try:
            return ort.InferenceSession(source, options, providers=self._providers)
        except Exception as exc:
            raise ModelError(
                f"{self._where}: onnxruntime cannot load this ONNX model ({exc}); "
                "re-export it, or check that the file is complete"
            ) from exc

    def _try_split(self, model: str | Path | bytes) -> SplitModel | None:
        from segcore.models.onnx_split import split_model

        try:
            data = model if isinstance(model, bytes) else Path(model).read_bytes()
            split = split_model(data, self._open)
        except Exception:  # only a speed-up: the model then runs whole, and _open
            return None  # reports a model that cannot run at all
        _release_freed_memory()  # the probe's activations
        return split

    def run(self, batch: list[np.ndarray], *, logits: bool, score: Score) -> list[TileOutput]:
        h, w, bands = batch[0].shape
        n = len(batch)
        x = np.empty((n, bands, h, w), np.float32)  # one copy, straight to NCHW
        for i, tile in enumerate(batch):
            x[i] = tile.transpose(2, 0, 1)
        labels = np.empty((n, h, w), np.uint8)
        values = None if score == "none" else np.empty((n, h, w), np.uint8)
        kept: np.ndarray | None = None
        try:
            for top, bottom, out in self._logits(x):
                if logits and kept is None:
                    kept = np.empty((n, out.shape[1], h, w), np.float32)
                for i in range(n):
                    label, value = reduce_logits(out[i], score)
                    labels[i, top:bottom] = label
                    if values is not None and value is not None:
                        values[i, top:bottom] = value
                    if kept is not None:
                        kept[i, :, top:bottom] = out[i]
        except Exception as exc:
            raise InferenceError(f"the ONNX model failed on a {x.shape} batch: {exc}") from exc
        _release_freed_memory()
        return [
            TileOutput(
                labels[i],
                None if values is None else values[i],
                None if kept is None else kept[i],
            )
            for i in range(n)
        ]

    def _logits(self, x: np.ndarray) -> Iterator[tuple[int, int, np.ndarray]]:
        """Logits of batch ``x`` in row strips ``(top, bottom, logits)``."""
        if self._split is None:
            out = self._session.run(None, {self._input: x})[0]
            yield 0, x.shape[2], np.asarray(out, np.float32)
            return
        rows = STRIP_PIXELS // max(x.shape[0] * x.shape[3], 1)
        yield from self._split.strips(x, rows)

    def close(self) -> None:
        self._session = self._split = None


def _release_freed_memory() -> None:
    """Hand the tile's freed activations back to the OS (glibc keeps them otherwise).

    Without the arena, onnxruntime frees a tile's activations after the run,
    but glibc keeps the pages, and the next tile's allocation pattern adds to
    them: RSS crept ~15 % above one tile's peak over a run. ``malloc_trim``
    costs milliseconds against seconds per tile.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # musl and others: nothing to trim
        return None
    return libc if hasattr(libc, "malloc_trim") else None
