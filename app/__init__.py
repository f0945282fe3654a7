"""Tessera's desktop app (PySide6): a thin Qt shell over :mod:`segcore`."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tessera")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
