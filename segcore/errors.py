"""Exceptions raised by the engine.

Every error the engine raises on purpose derives from :class:`TesseraError`,
so the CLI and the GUI can catch one type, show its message and carry on.
Messages say what failed, on which file or value, and what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class TesseraError(Exception):
    """Base class of every expected failure in Tessera."""


class SourceError(TesseraError):
    """An image could not be opened or read."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelError(TesseraError):
    """A model could not be built, loaded, saved or matched to an image."""


class InferenceError(TesseraError):
    """Inference could not run or could not write its output."""


class OutputError(TesseraError):
    """An output would replace an input or another output, or cannot be written there."""


class LabelError(TesseraError):
    """A label store or an edit operation was given something it cannot use."""


class ProjectError(TesseraError):
    """A project directory or its files are missing, corrupt or too new."""


class FormatError(TesseraError):
    """An export or import failed; ``problems`` lists every file and reason."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        detail = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(message + detail)


class TrainingError(TesseraError):
    """Training cannot start or cannot go on."""
