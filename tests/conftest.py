"""Fixtures shared by every test: real sample files and a thread-leak guard."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def sample() -> Callable[[str], Path]:
    """``sample("nuclei_image")`` -> path of a real file from a registry package."""
    from segcore.sampledata import fetch

    return fetch


# Threads that belong to libraries and live for the whole process.
_LONG_LIVED = (
    "pydevd",
    "QDBusConnection",
    "Dummy-",
    "asyncio_",
    "pymp-",
    "hypothesis",
    "zarr_",  # zarr 3's event-loop thread and I/O pool live for the whole process
    "tqdm_monitor",  # started by the first progress bar (the dynamo ONNX exporter's)
)


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread of its own running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith(_LONG_LIVED)
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--byhand",
        action="store_true",
        help="also run the tests marked 'byhand' (long fault campaigns, bundle builds)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import importlib.util

    if not config.getoption("--byhand"):
        by_hand = pytest.mark.skip(reason="run by hand: pytest --byhand")
        for item in items:
            if "byhand" in item.keywords:
                item.add_marker(by_hand)

    cuda = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        cuda = torch.cuda.is_available()
    skip = pytest.mark.skip(reason="needs a CUDA GPU; runs on machines that have one")
    for item in items:
        if "cuda" in item.keywords and not cuda:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches (pyramids, ONNX copies of models) go to a temporary folder, not the user's."""
    old = os.environ.get("TESSERA_CACHE_DIR")
    os.environ["TESSERA_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    # models written by tests are rarely run big enough for onnxruntime: skip the copy
    # made on write (~10 s each); the tests of that copy turn it back on
    os.environ.setdefault("TESSERA_ONNX_ON_WRITE", "0")
    yield
    if old is None:
        os.environ.pop("TESSERA_CACHE_DIR", None)
    else:
        os.environ["TESSERA_CACHE_DIR"] = old
