"""A Dask cluster to run on: an embedded ``LocalCluster`` or an existing scheduler.

>>> with open_cluster(workers=2) as cluster:  # doctest: +SKIP
...     print(cluster.dashboard)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from segcore.errors import InferenceError

CONNECT_SECONDS = 10  # an unreachable scheduler is reported after this long


class ClusterError(InferenceError):
    """The cluster cannot be reached or its workers cannot do the work."""


@dataclass
class Cluster:
    """A connected client and what the job needs to know about its workers."""

    client: Any  # distributed.Client
    workers: int
    threads: int | None  # per worker for onnxruntime / PyTorch; None: their default
    local: bool

    @property
    def dashboard(self) -> str:
        link = getattr(self.client, "dashboard_link", None)
        return str(link) if link else "(no dashboard)"


def gpu_count() -> int:
    """CUDA devices here (0 without torch having been needed: no driver, no GPUs)."""
    from segcore.engine.backend import cuda_possible

    if not cuda_possible():
        return 0
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def local_workers(requested: int | None) -> int:
    """``--cluster N``: N; ``--cluster`` alone: one per GPU, else one per CPU core."""
    if requested is not None:
        if requested < 1:
            raise ClusterError(f"--cluster must be at least 1 worker, got {requested}")
        return requested
    return gpu_count() or os.cpu_count() or 1


@contextmanager
def open_cluster(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Cluster]:
    """Start a ``LocalCluster`` (``workers`` processes, one thread each) or connect to
    ``scheduler``; close what was started when done."""
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(
            f"the cluster mode needs dask.distributed ({exc}); install tessera's dependencies"
        ) from exc
    dist: Any = distributed  # untyped
    if scheduler is not None:
        try:
            client = dist.Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address "
                "(tcp://HOST:8786) and that `dask scheduler` runs there"
            ) from exc
        try:
            count = len(client.scheduler_info().get("workers", {}))
            if count == 0:
                client.wait_for_workers(1, timeout=CONNECT_SECONDS)
                count = len(client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError) as exc:
            client.close()
            raise ClusterError(
                f"the Dask scheduler at {scheduler} has no workers; start some with "
                f"`dask worker {scheduler}`"
            ) from exc
        try:
            yield Cluster(client, count, None, local=False)
        finally:
            client.close()
        return
    n = local_workers(workers)
    cores = os.cpu_count() or 1
    os.environ.setdefault("GDAL_CACHEMAX", "64")  # inherited by the worker processes
    cluster = dist.LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    client = dist.Client(cluster)
    try:
        yield Cluster(client, n, max(1, cores // n), local=True)
    finally:
        client.close()
        cluster.close()
