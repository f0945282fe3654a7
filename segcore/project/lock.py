"""One process at a time per project: an advisory lock on ``<project>/.lock``.

Two windows editing the same project would interleave their journals and
overwrite each other's chunks. The lock is an ``flock`` held for as long as the
project is open; the kernel drops it when the process ends, even by SIGKILL, so
a crash never leaves a stale lock behind. (Where ``fcntl`` does not exist, on
Windows, no lock is taken.)
"""

from __future__ import annotations

import os
from pathlib import Path

from segcore.errors import ProjectError

LOCK_NAME = ".lock"


def acquire(root: Path) -> int:
    """Lock the project at ``root``; returns the descriptor to pass to :func:`release`.

    Raises
    ------
    ProjectError
        If another process (or another open Project in this one) holds it.
    """
    path = root / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ProjectError(f"cannot open project {root}: {exc}") from exc
    try:
        import fcntl
    except ImportError:  # Windows
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise ProjectError(
            f"project {root} is already open in another Tessera window or process; "
            "close it there first"
        ) from exc
    return fd


def release(fd: int) -> None:
    """Drop a lock taken by :func:`acquire`."""
    if fd >= 0:
        os.close(fd)  # closing the descriptor releases the flock
