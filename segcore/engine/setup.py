"""Check an inference request and decide how it runs, before any work starts.

Everything here is cheap (no forward pass, no threads, no files written), so
``infer()`` can raise a clear error at call time: bands that do not match the
model, a tile too small for the halo, a region outside the image.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from segcore.engine.geometry import Rect, TilePlan, plan_tiles, round_up
from segcore.engine.options import InferOptions
from segcore.engine.runners import OnnxRunner, Runner, TorchRunner
from segcore.errors import InferenceError, ModelError
from segcore.io.source import ImageSource
from segcore.models.meta import ModelMeta

if TYPE_CHECKING:
    from torch import nn

TILE_PER_HALO = 8  # default exact tile >= 8 x halo: the halo then costs < 2x compute
MIN_DEFAULT_TILE = 1024  # per-tile overheads dominate below this
MAX_DEFAULT_TILE = 1536  # memory: an smp U-Net tile of 1440 px (8k image) peaks ~0.9 GB here
MAX_STRIP_TILE = 2560  # in strips (~120 B/px): a 2560 px tile alone peaks ~1.1 GB here
ONNX_MIN_PIXELS = 4_000_000  # tile pixels; below this the ONNX export (~10 s) does not pay


class ModelLike(Protocol):
    """A loaded model: :class:`segcore.models.LoadedModel` or anything shaped like it."""

    @property
    def module(self) -> nn.Module: ...

    @property
    def meta(self) -> ModelMeta: ...


@dataclass
class Setup:
    source: ImageSource
    owns_source: bool
    meta: ModelMeta
    module: nn.Module | None  # None until make_runner loads model_path
    model_path: Path | None  # a model file (.safetensors, .pth or .onnx)
    name: str
    device: str
    mode: Literal["exact", "blend"]
    plan: TilePlan
    batch: int
    notices: list[str]

    def close(self) -> None:
        if self.owns_source:
            self.source.close()


def open_source(source: ImageSource | str | Path) -> tuple[ImageSource, bool]:
    if isinstance(source, str | Path):
        from segcore.io import open_image

        return open_image(source), True
    return source, False


def open_model(
    model: ModelLike | str | Path,
) -> tuple[ModelMeta, nn.Module | None, Path | None, str]:
    """(meta, module or None, file or None, display name) of a model or model file.

    A model file is not loaded here: only its header is read (and checked
    for truncation). :func:`make_runner` loads it, or its cached ONNX copy.
    """
    if not isinstance(model, str | Path):
        return model.meta, model.module, None, f"model {model.meta.arch}"
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    from segcore.models.files import read_meta

    return read_meta(path), None, path, str(path)


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    if not _cuda_possible():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _cuda_possible() -> bool:
    """False where no NVIDIA driver is loaded (Linux), so "auto" need not import torch."""
    if sys.platform != "linux" or "torch" in sys.modules:
        return True
    return Path("/proc/driver/nvidia/version").exists()


def prepare(source: ImageSource, model: ModelLike | str | Path, options: InferOptions) -> Setup:
    """Resolve model, mode, tile, halo and the tile plan; raise on any mismatch."""
    meta, module, model_path, name = open_model(model)
    bands = options.bands
    used = source.band_count if bands is None else len(bands)
    if used != meta.in_channels:
        hint = ",".join(str(i + 1) for i in range(min(meta.in_channels, source.band_count)))
        raise ModelError(
            f"{name} expects {meta.in_channels} input band(s) but {source.path} gives {used}; "
            f"choose {meta.in_channels} of its {source.band_count} bands with --bands "
            f"(e.g. --bands {hint}) or use a model made for {used} bands"
        )
    notices: list[str] = []
    exact_ok = meta.exact and meta.receptive_field is not None
    if options.mode == "exact" and not exact_ok:
        raise InferenceError(
            f"{name} cannot give exact tiles (its probe found global context or no bounded "
            "receptive field); use --mode blend or --mode auto"
        )
    mode: Literal["exact", "blend"] = "exact" if options.mode != "blend" and exact_ok else "blend"
    if options.mode == "auto" and mode == "blend":
        notices.append(
            f"{name} has global context, so tiles are blended (Gaussian) and "
            "may differ slightly from a whole-image pass"
        )
    plan = _plan(source, meta, mode, options, MAX_DEFAULT_TILE)
    rf = meta.receptive_field
    if mode == "exact" and rf is not None and plan.halo < rf:
        notices.append(
            f"halo {plan.halo} is below the measured receptive field {rf}; "
            "tile seams may differ slightly from a whole-image pass"
        )
    device = pick_device(options.device)
    batch = options.batch or (4 if device.startswith("cuda") else 1)
    if batch < 1:
        raise InferenceError(f"batch must be at least 1, got {batch}")
    return Setup(source, False, meta, module, model_path, name, device, mode, plan, batch, notices)


def _plan(
    source: ImageSource, meta: ModelMeta, mode: str, options: InferOptions, cap: int
) -> TilePlan:
    stride = max(meta.output_stride, 1)
    halo, tile = _tile_and_halo(meta, mode, options, stride, cap)
    return plan_tiles(
        source.width,
        source.height,
        tile=tile,
        halo=halo,
        stride=stride,
        roi=None if options.roi is None else Rect(*options.roi),
        mask=options.mask,
    )


def _tile_and_halo(
    meta: ModelMeta, mode: str, options: InferOptions, stride: int, cap: int
) -> tuple[int, int]:
    if options.halo is not None and options.halo < 0:
        raise InferenceError(f"halo must be >= 0, got {options.halo}")
    if options.tile is not None and options.tile < stride:
        raise InferenceError(f"tile must be at least the model's stride {stride}")
    # A model may name the largest tile it runs in bounded memory (the pixel
    # classifier: its features take ~8 bytes per feature per pixel).
    cap = min(cap, int(meta.extra.get("max_tile") or cap))
    if mode == "exact":
        assert meta.receptive_field is not None
        halo = meta.receptive_field if options.halo is None else options.halo
        auto_tile = max(meta.tile_size, TILE_PER_HALO * halo, MIN_DEFAULT_TILE)
        auto_tile = min(auto_tile, cap)
        auto_tile = max(auto_tile, 2 * halo + 2 * stride)
        tile = options.tile or round_up(auto_tile, stride)
    else:
        tile = options.tile or round_up(meta.tile_size, stride)
        halo = tile // 8 if options.halo is None else options.halo
    return halo, tile


def make_runner(setup: Setup, options: InferOptions) -> Runner:
    """The runner for this job: onnxruntime or PyTorch (see :class:`InferOptions`).

    A job big enough for onnxruntime on the CPU runs a U-Net-like model in
    strips where it can; those tiles need less memory per pixel, so the
    default tile grows to ``MAX_STRIP_TILE`` and the plan is made again.
    """
    plan = setup.plan
    big = plan.count * plan.tile_w * plan.tile_h >= ONNX_MIN_PIXELS
    runner = _pick_runner(setup, options, big=big)
    if isinstance(runner, OnnxRunner) and runner.in_strips and options.tile is None:
        setup.plan = _plan(setup.source, setup.meta, setup.mode, options, MAX_STRIP_TILE)
    return runner


def _pick_runner(setup: Setup, options: InferOptions, *, big: bool) -> Runner:
    cpu = setup.device == "cpu"
    # strips cut where the resolution drops; a stride-1 model (the pixel classifier) has none
    strips = big and cpu and setup.meta.output_stride > 1
    path = setup.model_path
    if path is not None and path.suffix.lower() == ".onnx":
        return OnnxRunner(path, device=setup.device, strips=strips)
    want_onnx = options.backend == "onnx" or (options.backend == "auto" and cpu and big)
    if want_onnx:
        try:
            return _onnx_runner(setup, strips)
        except ModelError as exc:
            if options.backend == "onnx":
                raise
            setup.notices.append(f"onnxruntime not used ({exc}); running PyTorch")
    return TorchRunner(_module(setup), device=setup.device, precision=options.precision)


def _onnx_runner(setup: Setup, strips: bool) -> Runner:
    """onnxruntime on the model file's cached ONNX copy, or on a fresh export of a module."""
    device, name = setup.device, setup.name
    if setup.model_path is None:
        from segcore.models.export import onnx_bytes

        assert setup.module is not None
        data = onnx_bytes(setup.module, setup.meta)
        return OnnxRunner(data, device=device, label=name, strips=strips)
    from segcore.models.onnx_cache import cached_onnx

    copy = cached_onnx(setup.model_path)
    try:
        return OnnxRunner(copy, device=device, label=name, strips=strips)
    except ModelError:  # a damaged copy: export again, once
        copy.unlink(missing_ok=True)
        copy = cached_onnx(setup.model_path)
        return OnnxRunner(copy, device=device, label=name, strips=strips)


def _module(setup: Setup) -> nn.Module:
    if setup.module is None:
        from segcore.models.files import load_model

        assert setup.model_path is not None
        setup.module = load_model(setup.model_path, device="cpu").module
    return setup.module
