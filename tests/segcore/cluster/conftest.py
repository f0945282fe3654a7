"""A 2-process LocalCluster shared by the cluster tests, and a small model file."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))

from engine_helpers import build  # noqa: E402

from segcore.cluster.session import Cluster, open_cluster  # noqa: E402
from segcore.models.files import save_model  # noqa: E402

# dask.distributed's own threads (its event loop, offload and comms pools) live as long
# as the shared client; the threads of Tessera's engine must still be joined.
_DASK = ("IO loop", "Dask-", "TCP-Executor", "Profile", "AsyncProcess", "ThreadPoolExecutor")


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """The suite's guard, with dask's long-lived threads allowed."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [
            t.name
            for t in threading.enumerate()
            if t not in before and t.is_alive() and t.name.startswith("tessera-")
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test left threads running: {leaked}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with open_cluster(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """small_unet (stride 8, receptive field 23), 3 classes, random weights scaled so
    that the class map varies (the default init predicts one class everywhere)."""
    m = build("small_unet", classes=3, seed=1)
    for layer in m.module.modules():
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(layer.weight)
            if layer.bias is not None:
                torch.nn.init.zeros_(layer.bias)
    return save_model(tmp_path_factory.mktemp("model") / "unet.safetensors", m.module, m.meta)
