"""Atomic file replacement: write a temporary file, fsync it, rename it over.

A reader (or a crash) sees either the old file or the new one, never half of
each. When the disk is full the temporary file is removed, the old file is
untouched, and the user is told so.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

from segcore.errors import ProjectError


def disk_error(path: Path, exc: OSError, *, what: str = "saving") -> ProjectError:
    """A ProjectError telling the user what happened to ``path`` and what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ProjectError(
            f"disk full while {what} {path}; free space and save again; your last save is intact"
        )
    return ProjectError(
        f"could not finish {what} {path}: {exc.strerror or exc}; your last save is intact"
    )


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    Raises
    ------
    ProjectError
        If the write fails (disk full, permission); ``path`` keeps its old content.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_error(path, exc) from exc


def atomic_write_json(path: str | Path, doc: Any) -> None:
    """:func:`atomic_write_bytes` of ``doc`` as indented UTF-8 JSON."""
    atomic_write_bytes(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
