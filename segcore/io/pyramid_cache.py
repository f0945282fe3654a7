"""The pyramid cache kept within its limit: least recently used first, never one in use.

Every lazy pyramid (:mod:`segcore.io.pyramid`) is a folder under
:func:`cache_root`, named by a hash of its image. A pyramid that reads its
folder holds it (:func:`hold`): a shared ``flock`` on ``<folder>/.in-use``,
whose modification time is also the folder's "last used" time. Pruning and
clearing take the lock exclusively without waiting; a folder they cannot lock
is in use by some process and is kept (on a filesystem without ``flock`` every
folder is kept). A folder is deleted by renaming it
first (to a hidden name, atomically, with the lock held) and then removing the
renamed tree, so a reader never sees half a cache under the real name. On
Windows, where ``flock`` does not exist, the held lock file is an open file,
and Windows refuses to rename a folder holding one: the rename fails and the
folder is kept all the same.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import sys
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from segcore.cache import cache_dir, cache_limit, tree_bytes

LOCK_NAME = ".in-use"
_KEY = re.compile(r"[0-9a-f]{32}")
_TRASH_PREFIX = ".deleting-"
# Some network filesystems refuse flock: there nothing is ever deleted (nothing can be
# known to be unused), and readers go on unprotected.
_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOLCK, errno.EBADF}


def cache_root() -> Path:
    """Directory holding every cached pyramid."""
    return cache_dir("pyramids")


@dataclass(frozen=True)
class CacheEntry:
    """One image's cached pyramid."""

    folder: Path
    source: str  # the image it was made from ("" when its note is missing)
    nbytes: int
    last_used: float  # seconds since the epoch
    in_use: bool


@dataclass(frozen=True)
class Removal:
    """What :func:`prune` or :func:`clear` did."""

    removed: int
    freed: int  # bytes
    kept_in_use: int


class Hold:
    """A pyramid's claim on its cache folder; released by :meth:`release` or garbage collection."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._finalizer = weakref.finalize(self, _close, fd)

    def release(self) -> None:
        """Mark the folder used now and drop the claim."""
        if os.utime in os.supports_fd:
            with contextlib.suppress(OSError):
                os.utime(self._fd)
        self._finalizer()


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def hold(folder: Path) -> Hold:
    """Claim ``folder`` (created if missing) for reading: pruning and clearing keep it.

    Raises OSError when the folder cannot be created or locked.
    """
    lock = folder / LOCK_NAME
    while True:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            continue  # the folder was deleted between the two calls
        try:
            _lock(fd, shared=True, wait=True)
            same = sys.platform == "win32" or os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False  # deleted while we waited for the lock: make it afresh
        except BaseException:
            os.close(fd)
            raise
        if same:
            os.utime(lock)  # used now
            return Hold(fd)
        os.close(fd)


def entries() -> list[CacheEntry]:
    """Every cached pyramid, least recently used first."""
    root = cache_root()
    try:
        folders = [p for p in root.iterdir() if p.is_dir() and _KEY.fullmatch(p.name)]
    except OSError:  # no cache yet
        return []
    found = []
    for folder in folders:
        found.append(
            CacheEntry(
                folder=folder,
                source=_source_of(folder),
                nbytes=tree_bytes(folder),
                last_used=_last_used(folder),
                in_use=_in_use(folder),
            )
        )
    return sorted(found, key=lambda e: e.last_used)


def total_bytes() -> int:
    """Bytes the pyramid cache takes on disk."""
    return tree_bytes(cache_root())


def prune(limit: int | None = None, *, keep: Iterable[Path] = ()) -> Removal:
    """Delete least recently used pyramids until the cache holds at most ``limit`` bytes.

    ``limit`` defaults to :func:`segcore.cache.cache_limit` of ``"pyramids"``.
    Folders in ``keep`` and folders in use by any process are never deleted, so
    the cache can stay above the limit while many large images are open.
    """
    limit = cache_limit("pyramids")[0] if limit is None else limit
    _sweep_trash()
    kept = {Path(p) for p in keep}
    listed = entries()
    total = sum(e.nbytes for e in listed)
    removed = freed = busy = 0
    for entry in listed:
        if total <= limit:
            break
        if entry.folder in kept:
            continue
        if _delete(entry.folder):
            removed, freed, total = removed + 1, freed + entry.nbytes, total - entry.nbytes
        else:
            busy += 1
    return Removal(removed, freed, busy)


def clear() -> Removal:
    """Delete every cached pyramid that no process is reading."""
    _sweep_trash()
    removed = freed = busy = 0
    for entry in entries():
        if _delete(entry.folder):
            removed, freed = removed + 1, freed + entry.nbytes
        else:
            busy += 1
    return Removal(removed, freed, busy)


def _delete(folder: Path) -> bool:
    """Rename ``folder`` away with its lock held exclusively, then remove it; False if in use."""
    lock = folder / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return False
    try:
        try:
            if not _lock(fd, shared=False, wait=False):
                return False  # no flock here: it cannot be known to be unused
        except OSError:
            return False  # someone is reading it
        trash = folder.with_name(f"{_TRASH_PREFIX}{folder.name}-{os.getpid()}-{time.time_ns()}")
        try:
            os.rename(folder, trash)
        except OSError:
            return False  # Windows: an open file inside; elsewhere: gone or not ours
    finally:
        os.close(fd)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def _sweep_trash() -> None:
    """Remove what an interrupted deletion left behind."""
    with contextlib.suppress(OSError):
        for leftover in cache_root().glob(f"{_TRASH_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _in_use(folder: Path) -> bool:
    lock = folder / LOCK_NAME
    if not lock.exists():
        return False
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        return not _lock(fd, shared=False, wait=False)  # no flock: assume it is
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the lock we may have taken


def _last_used(folder: Path) -> float:
    for name in (LOCK_NAME, "source.json"):
        with contextlib.suppress(OSError):
            return (folder / name).stat().st_mtime
    with contextlib.suppress(OSError):
        return folder.stat().st_mtime
    return 0.0


def _source_of(folder: Path) -> str:
    try:
        note = json.loads((folder / "source.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(note.get("path", "")) if isinstance(note, dict) else ""


def _lock(fd: int, *, shared: bool, wait: bool) -> bool:
    """flock ``fd``: True when locked, False where the filesystem has no ``flock``.

    Raises OSError (BlockingIOError) when ``wait`` is False and the lock is taken.
    """
    if sys.platform == "win32":
        return True  # the open descriptor itself keeps the folder from being renamed
    import fcntl

    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True
