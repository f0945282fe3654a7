"""Which model, which device, which runner: decided before a job plans its tiles.

:func:`open_model` reads what a model file says (its header only);
:func:`pick_device` resolves ``"auto"``; :func:`make_runner` (a job: exporting
a model to ONNX takes seconds, and yields progress meanwhile) chooses between
PyTorch and onnxruntime from the job's size and builds the runner. A CPU job
big enough for onnxruntime runs a U-Net-like model in strips where it can
(:attr:`OnnxRunner.in_strips`), and the tile plan is then made for that runner
(:func:`segcore.engine.tiling.tile_plan`), once.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from segcore.engine.runners import OnnxRunner, Precision, Runner, TorchRunner
from segcore.errors import ModelError
from segcore.jobs import Job, Progress
from segcore.models.meta import ModelMeta

if TYPE_CHECKING:
    from torch import nn

    from segcore.engine.options import Backend

ONNX_MIN_PIXELS = 4_000_000  # output pixels; below this the ONNX export (~10 s) does not pay


class ModelLike(Protocol):
    """A loaded model: :class:`segcore.models.LoadedModel` or anything shaped like it."""

    @property
    def module(self) -> nn.Module: ...

    @property
    def meta(self) -> ModelMeta: ...


@dataclass(frozen=True)
class ModelRef:
    """A model to run: its metadata, and its module (loaded) or its file (not yet)."""

    meta: ModelMeta
    module: nn.Module | None
    path: Path | None  # a model file (.safetensors, .pth or .onnx)
    name: str  # for messages


def open_model(model: ModelLike | str | Path) -> ModelRef:
    """A loaded model as it is, or a model file by its header (checked for truncation).

    The weights of a file are loaded by :func:`make_runner`, or its cached ONNX
    copy is used instead.
    """
    if not isinstance(model, str | Path):
        return ModelRef(model.meta, model.module, None, f"model {model.meta.arch}")
    from segcore.models.files import read_meta

    path = Path(model)
    return ModelRef(read_meta(path), None, path, str(path))


def cuda_possible() -> bool:
    """Whether a CUDA GPU may be there, asked without importing torch where possible
    (the driver's files on Linux, ``nvidia-smi`` on Windows; never on macOS)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return bool(torch.cuda.is_available())
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists()
    return shutil.which("nvidia-smi") is not None


def pick_device(device: str) -> str:
    """``"auto"``: CUDA when a GPU is there, else the CPU; anything else as given."""
    if device != "auto":
        return device
    if not cuda_possible() or not has_torch():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def has_torch() -> bool:
    """Whether PyTorch is installed (the desktop bundle has only onnxruntime)."""
    import importlib.util

    return "torch" in sys.modules or importlib.util.find_spec("torch") is not None


@dataclass(frozen=True)
class RunnerChoice:
    """Which runner a job gets: PyTorch or onnxruntime, whole or in strips."""

    kind: Literal["torch", "onnx"]
    strips: bool  # asked for; a model that cannot be split still runs whole


def runner_choice(model: ModelRef, *, device: str, backend: Backend, pixels: int) -> RunnerChoice:
    """The rule :func:`make_runner` follows (also used to give a cluster's workers one runner).

    An ``.onnx`` file runs in onnxruntime; otherwise ``backend="auto"`` takes
    onnxruntime on the CPU for jobs of at least ``ONNX_MIN_PIXELS`` output pixels.
    """
    cpu = device == "cpu"
    big = pixels >= ONNX_MIN_PIXELS
    # strips cut where the resolution drops; a stride-1 model (the pixel classifier) has none
    strips = big and cpu and model.meta.output_stride > 1
    onnx_file = model.path is not None and model.path.suffix.lower() == ".onnx"
    if model.module is None and not has_torch():
        backend = "onnx"  # without PyTorch every model file runs on its ONNX copy
    onnx = onnx_file or backend == "onnx" or (backend == "auto" and cpu and big)
    return RunnerChoice("onnx" if onnx else "torch", strips)


def make_runner(
    model: ModelRef, *, device: str, backend: Backend, precision: Precision, pixels: int
) -> Job[tuple[Runner, tuple[str, ...]]]:
    """The runner for a job producing ``pixels`` output pixels, and notices for the user.

    An ``.onnx`` file runs in onnxruntime, and so does every model file when
    PyTorch is not installed. Otherwise ``backend="auto"`` takes
    onnxruntime on the CPU for jobs of at least ``ONNX_MIN_PIXELS`` (in strips
    where the model splits) and PyTorch for the rest, or when the export fails.
    A job (``yield from`` it): an export yields progress (no total) while it runs.
    """
    choice = runner_choice(model, device=device, backend=backend, pixels=pixels)
    strips = choice.strips
    if model.path is not None and model.path.suffix.lower() == ".onnx":
        return OnnxRunner(model.path, device=device, strips=strips), ()
    notices: tuple[str, ...] = ()
    if model.module is None and not has_torch():
        backend = "onnx"  # without PyTorch a failed ONNX copy is an error, not a fallback
    if choice.kind == "onnx":
        try:
            return (yield from _onnx_runner(model, device, strips)), ()
        except ModelError as exc:
            if backend == "onnx":
                raise
            notices = (f"onnxruntime not used ({exc}); running PyTorch",)
    return TorchRunner(_module(model), device=device, precision=precision), notices


def _onnx_runner(model: ModelRef, device: str, strips: bool) -> Job[Runner]:
    """onnxruntime on the model file's cached ONNX copy, or on a fresh export of a module."""
    if model.path is None:
        from segcore.models.portable import onnx_bytes

        assert model.module is not None
        yield Progress(0, 0, message=f"exporting {model.name} to ONNX")
        data = onnx_bytes(model.module, model.meta)
        return OnnxRunner(data, device=device, label=model.name, strips=strips)
    from segcore.models.onnx_cache import onnx_copy

    copy = yield from onnx_copy(model.path)
    try:
        return OnnxRunner(copy, device=device, label=model.name, strips=strips)
    except ModelError:  # a damaged copy: export again, once
        copy.unlink(missing_ok=True)
        copy = yield from onnx_copy(model.path)
        return OnnxRunner(copy, device=device, label=model.name, strips=strips)


def _module(model: ModelRef) -> nn.Module:
    if model.module is not None:
        return model.module
    from segcore.models.files import load_model

    assert model.path is not None
    return load_model(model.path, device="cpu").module
