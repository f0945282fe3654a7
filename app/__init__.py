"""Tessera's desktop app (PySide6): a thin Qt shell over :mod:`segcore`."""

from functools import cache
from typing import Any


def __getattr__(name: str) -> Any:
    # The version is looked up on first use: importlib.metadata costs ~80 ms,
    # which headless commands (`tessera info`) should not pay.
    if name != "__version__":
        raise AttributeError(name)
    return _version()


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tessera")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0"
