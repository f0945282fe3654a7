"""DistributedDataParallel when launched under ``torchrun``.

``torchrun --nproc-per-node N ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each process. Training
then joins the process group (NCCL on CUDA, gloo on CPU), wraps the model in
``DistributedDataParallel`` and gives each process its share of the tiles
through ``DistributedSampler``. Metrics are summed across processes, so every
rank takes the same decisions (early stop, time budget); only rank 0 writes the
model file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from segcore.errors import TrainingError


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a distributed run."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = DistInfo(0, 1, 0)


def from_env() -> DistInfo:
    """The torchrun environment of this process, or :data:`SINGLE` when there is none."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return SINGLE
    try:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", rank))
    except ValueError as exc:
        raise TrainingError(f"bad torchrun environment (RANK/WORLD_SIZE): {exc}") from exc
    if world < 1 or not 0 <= rank < world:
        raise TrainingError(f"bad torchrun environment: RANK={rank}, WORLD_SIZE={world}")
    return DistInfo(rank, world, local)


def device_for(info: DistInfo, requested: str) -> torch.device:
    """The device of this process: ``cuda:LOCAL_RANK`` under torchrun on GPUs."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and info.world_size > 1:
        return torch.device("cuda", info.local_rank)
    try:
        return torch.device(requested)
    except RuntimeError as exc:
        raise TrainingError(f"unknown device {requested!r}; use auto, cpu or cuda") from exc


def start(info: DistInfo, device: torch.device) -> bool:
    """Join the process group if needed; True when this call created it."""
    if info.world_size == 1 or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    try:
        dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    except (RuntimeError, ValueError) as exc:
        raise TrainingError(f"cannot join the torchrun process group ({backend}): {exc}") from exc
    return True


def stop(created: bool) -> None:
    """Leave the process group if :func:`start` created it."""
    if created and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """``module`` wrapped in DistributedDataParallel (unchanged for one process)."""
    if info.world_size == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def sync_buffers(module: nn.Module, info: DistInfo) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank.

    DDP broadcasts them before each forward pass, but the last training step
    leaves every rank with its own statistics; validation and the saved model
    must use the same ones everywhere.
    """
    if info.world_size == 1:
        return
    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=0)


def all_sum(values: torch.Tensor, info: DistInfo, device: torch.device) -> torch.Tensor:
    """Element-wise sum over all processes, returned on the CPU (NCCL reduces on the GPU)."""
    out = values.detach().to(device, copy=True)
    if info.world_size > 1:
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.cpu()


def any_true(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank when ``flag`` is True on any rank."""
    if info.world_size == 1:
        return flag
    return bool(all_sum(torch.tensor([1.0 if flag else 0.0]), info, device).item() > 0)
