"""The model as it travels to the workers, and each worker's one loaded copy of it.

A :class:`Shipment` carries the model file's bytes and, for CPU runs in
onnxruntime, the bytes of its ONNX copy (made when the model file was
written, :mod:`segcore.models.onnx_cache`). It is scattered to every worker
once; a worker builds a runner from it the first time a task needs one and
keeps it for every later task (:func:`worker_runner`), so no worker exports,
and none needs the client's cache folder or file system to load the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from segcore.engine.runners import OnnxRunner, Precision, Runner, TorchRunner
from segcore.models.meta import ModelMeta


@dataclass(frozen=True)
class Shipment:
    """A model for the workers: its file's bytes and its ONNX copy's, if it has one."""

    key: str  # content hash of the model file
    name: str  # for messages
    meta: ModelMeta
    suffix: str  # of the model file: .safetensors, .pth or .onnx
    model: bytes = b""
    onnx: bytes | None = None


@dataclass(frozen=True)
class RunnerSpec:
    """The runner a worker builds: the single-process engine's choice for the whole image."""

    kind: Literal["torch", "onnx"]
    strips: bool
    device: str
    precision: Precision = "auto"
    threads: int | None = None  # onnxruntime / PyTorch threads per worker


def shipment(path: Path, meta: ModelMeta, *, onnx: Path | None) -> Shipment:
    """Read a model file (and its ONNX copy) into a :class:`Shipment`."""
    data = path.read_bytes()
    key = hashlib.sha256(data).hexdigest()[:24]
    copy = None if onnx is None else onnx.read_bytes()
    return Shipment(key, str(path), meta, path.suffix.lower(), data, copy)


_RUNNERS: dict[tuple[str, RunnerSpec], Runner] = {}
_LOCK = threading.Lock()


def worker_runner(ship: Shipment, spec: RunnerSpec) -> Runner:
    """This process's runner for ``ship`` and ``spec``: built once, then kept.

    A runner of another model is closed first: a worker keeps one model.
    """
    with _LOCK:
        runner = _RUNNERS.get((ship.key, spec))
        if runner is not None:
            return runner
        for key in [k for k in _RUNNERS if k[0] != ship.key]:
            _RUNNERS.pop(key).close()
        runner = _build(ship, spec)
        _RUNNERS[(ship.key, spec)] = runner
        return runner


def _build(ship: Shipment, spec: RunnerSpec) -> Runner:
    device = _local_device(spec.device)
    if ship.suffix == ".onnx" or spec.kind == "onnx":
        data = ship.model if ship.suffix == ".onnx" else ship.onnx
        if data is None:
            raise RuntimeError(f"{ship.name}: no ONNX copy was shipped with the model")
        return OnnxRunner(
            data, device=device, label=ship.name, strips=spec.strips, threads=spec.threads
        )
    import torch

    from segcore.models.files import load_model

    if spec.threads is not None:
        torch.set_num_threads(spec.threads)
    loaded = load_model(_local_file(ship), device="cpu")
    return TorchRunner(loaded.module, device=device, precision=spec.precision)


def _local_file(ship: Shipment) -> Path:
    """The shipped model file written once into this machine's temporary folder."""
    path = Path(tempfile.gettempdir()) / f"tessera-model-{ship.key}{ship.suffix}"
    if ship.suffix == ".pth":  # its metadata lives in a sidecar
        _write_once(path.with_suffix(".json"), json.dumps(ship.meta.to_json()).encode())
    _write_once(path, ship.model)
    return path


def _write_once(path: Path, data: bytes) -> None:
    if not path.is_file():
        part = path.with_name(f".{path.name}.{os.getpid()}.part")
        part.write_bytes(data)
        os.replace(part, path)


def _local_device(device: str) -> str:
    """``cuda`` on a worker of a local cluster: the GPU of its number (one worker per GPU)."""
    if device != "cuda":
        return device
    try:
        from distributed import get_worker

        name = get_worker().name
    except ValueError:  # not on a worker
        return device
    import torch

    count = torch.cuda.device_count()
    return f"cuda:{name % count}" if isinstance(name, int) and count > 1 else device
