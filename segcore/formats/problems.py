"""Collect every problem of an import before deciding, then fail once.

Importers check a whole dataset and report all of its problems together
(file and reason each), so a user fixes them in one go.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError, LabelError
from segcore.formats.base import CLASS_FILE
from segcore.labels.schema import UNLABELLED, ClassInfo, default_color


class Problems:
    """A list of ``"file: reason"`` lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, file: str | Path, reason: str) -> None:
        self.lines.append(f"{file}: {reason}")

    def __bool__(self) -> bool:
        return bool(self.lines)

    def raise_if_any(self, what: str) -> None:
        if self.lines:
            raise FormatError(
                f"cannot import {what}: {len(self.lines)} problem(s); nothing was imported",
                self.lines,
            )


def load_json(path: Path, problems: Problems) -> Any:
    """Parsed JSON, or None with a problem recorded."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.add(path, "file not found")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(path, f"cannot read: {exc}")
    except json.JSONDecodeError as exc:
        problems.add(path, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
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
        return [ClassInfo.from_json(c) for c in data["classes"]]
    except (KeyError, TypeError, LabelError) as exc:
        problems.add(path, f"bad class list: {exc}")
        return None


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
