"""Collect every problem of an import before deciding, then fail once.

Importers check a whole dataset and report all of its problems together
(file and reason each), so a user fixes them in one go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError, LabelError
from segcore.formats.base import CLASS_FILE
from segcore.labels.schema import UNLABELLED, ClassInfo, default_color


class Problems:
    """A list of ``"file: reason"`` lines (the first :attr:`LIMIT` kept, the rest counted)."""

    LIMIT = 200

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def add(self, file: str | Path, reason: str) -> None:
        self.count += 1
        if len(self.lines) < self.LIMIT:
            self.lines.append(f"{file}: {reason}")

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self, what: str) -> None:
        if self.count:
            more = self.count - len(self.lines)
            listed = self.lines + ([f"... and {more} more"] if more else [])
            raise FormatError(
                f"cannot import {what}: {self.count} problem(s); nothing was imported", listed
            )


def load_json(path: Path, problems: Problems) -> Any:
    """Parsed JSON (limits: see :func:`~segcore.formats.checks.parse_json`), or None
    with a problem recorded."""
    from segcore.formats.checks import parse_json

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.add(path, "file not found")
        return None
    except OSError as exc:
        problems.add(path, f"cannot read: {exc}")
        return None
    try:
        return parse_json(data)
    except ValueError as exc:  # UnicodeDecodeError included
        problems.add(path, str(exc))
    return None


def read_class_file(folder: Path, problems: Problems) -> list[ClassInfo] | None:
    """Classes from ``folder/classes.json`` (written by our exports), or None if absent."""
    path = folder / CLASS_FILE
    if not path.exists():
        return None
    data = load_json(path, problems)
    if data is None:
        return None
    try:
        classes = [ClassInfo.from_json(c) for c in data["classes"]]
    except (KeyError, TypeError, LabelError) as exc:
        problems.add(path, f"bad class list: {str(exc)[:200]}")
        return None
    ids = [c.id for c in classes]
    bad = [
        c for c in classes if not 0 <= c.id < UNLABELLED or not all(0 <= v <= 255 for v in c.color)
    ]
    if bad or len(set(ids)) != len(ids):
        what = (
            f"class {bad[0].name!r} has id {bad[0].id} or colour {bad[0].color}"
            if bad
            else "class ids repeat"
        )
        problems.add(path, f"bad class list: {what}; ids are 0..254, unique, colours 0..255")
        return None
    return classes


def generic_classes(ids: set[int]) -> list[ClassInfo]:
    """``class N`` for every id seen, when a dataset names no classes."""
    return [ClassInfo(i, f"class {i}", default_color(i)) for i in sorted(ids)]


def check_class_ids(
    class_map: NDArray[np.generic],
    classes: list[ClassInfo],
    file: str | Path,
    problems: Problems,
) -> None:
    """Record values of ``class_map`` that are neither a known class nor unlabelled."""
    known = {c.id for c in classes} | {UNLABELLED}
    seen = {int(v) for v in np.unique(class_map)}
    unknown = sorted(seen - known)
    if unknown:
        problems.add(file, f"unknown class id(s) {unknown[:10]}; not in the class list")
