"""One process at a time per project: an OS lock held for as long as it is open.

Two windows editing the same project would interleave their journals and
overwrite each other's chunks. So an open project holds an exclusive lock
that the kernel drops when the process ends, even by SIGKILL: a crash never
leaves a stale lock behind.

On POSIX the lock is an ``flock`` on the project folder itself, which no one
can delete while the project is in it, plus one on ``<project>/.lock`` (which
older Tessera versions take). Deleting ``.lock`` therefore lets no second
writer in. On Windows it is a ``msvcrt.locking`` lock on ``.lock``, which
Windows does not let anyone delete while it is open.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from segcore.errors import ProjectError

LOCK_NAME = ".lock"
# flock on a folder is refused by a few network filesystems: the file lock alone then.
_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOLCK, errno.EBADF}


class ProjectLock:
    """The held lock; :meth:`release` (or the process ending) drops it."""

    def __init__(self, fds: list[int]) -> None:
        self._fds = fds

    @property
    def held(self) -> bool:
        return bool(self._fds)

    def release(self) -> None:
        """Drop the lock (closing the descriptors releases it)."""
        fds, self._fds = self._fds, []
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def acquire(root: Path) -> ProjectLock:
    """Lock the project at ``root`` for this process.

    Raises
    ------
    ProjectError
        If another process (or another open Project in this one) holds it.
    """
    try:
        fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask
    except OSError as exc:
        raise ProjectError(f"cannot open project {root}: {exc}") from exc
    held = ProjectLock([fd])
    try:
        if os.name == "nt":
            _lock_windows(fd, root)
        else:
            _lock_posix(held, fd, root)
    except BaseException:
        held.release()
        raise
    return held


def _busy(root: Path) -> ProjectError:
    return ProjectError(
        f"project {root} is already open in another Tessera window or process; close it there first"
    )


def _lock_posix(held: ProjectLock, fd: int, root: Path) -> None:
    import fcntl

    try:
        dir_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise ProjectError(f"cannot open project {root}: {exc}") from exc
    held._fds.append(dir_fd)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise _busy(root) from exc
        held._fds.remove(dir_fd)
        os.close(dir_fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise _busy(root) from exc


def _lock_windows(fd: int, root: Path) -> None:
    import msvcrt

    try:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    except OSError as exc:
        raise _busy(root) from exc
