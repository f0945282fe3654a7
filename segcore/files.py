"""Output files: never onto an input, written under a temporary name, swept when stale.

Every command that writes files goes through here before it does any work:

* :func:`check_outputs` refuses an output that is one of the command's inputs
  (through a symlink or a hard link too), two outputs onto one path, and an
  output whose folder is missing or cannot be written;
* :func:`part_path` names the temporary file a writer fills before it is renamed
  into place (``.<stem>.<pid>-<random>.part<suffix>``: the suffix stays last,
  GDAL picks drivers by it; the process id tells a stale file from a live one);
* :func:`sweep_parts` removes the temporary files that killed runs left in a
  folder (their process is gone);
* :func:`publish` renames a run's finished files into place, only once all of
  them are complete;
* :func:`created_mode` is the mode a new file gets from the user's umask, for
  files made by :func:`tempfile.mkstemp` (which makes them 0600).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from segcore.errors import OutputError

_PART = re.compile(r"^\..+\.(?P<pid>\d+)-[0-9a-f]{8}\.part(\.[^.]+)?$")
_OLD_PART = re.compile(r"^\..+\.[0-9a-f]{8}\.part(\.[^.]+)?$")  # before the pid was in the name
OLD_PART_AGE = 24 * 3600.0  # seconds; older pid-less part files are from killed runs


def part_path(final: Path) -> Path:
    """The temporary name a writer fills before :func:`publish` renames it to ``final``."""
    final = Path(final)
    return final.with_name(f".{final.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part{final.suffix}")


def final_of(temp: Path) -> Path:
    """The final name a :func:`part_path` stands for (``temp`` itself if it is not one)."""
    temp = Path(temp)
    match = re.match(r"^\.(?P<stem>.+)\.\d+-[0-9a-f]{8}\.part(?P<suffix>(\.[^.]+)?)$", temp.name)
    return temp.with_name(match["stem"] + match["suffix"]) if match else temp


def same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name one file: equal after resolving symlinks, or hard links."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def check_outputs(
    outputs: Sequence[tuple[str, str | Path]],
    inputs: Iterable[tuple[str, str | Path]] = (),
    *,
    folders: bool = False,
) -> None:
    """Refuse outputs that would replace an input, clash, or cannot be written.

    Parameters
    ----------
    outputs, inputs
        ``(what, path)`` pairs, ``what`` naming the option (``"--json"``, ``"image"``).
        An input may be a folder; no output may lie inside a zarr store (an image or
        labels held as a folder of chunks). Other folders (training images, a
        project, whose ``models/`` is a fine place for a model) may take outputs.
    folders
        The outputs are folders to create (an export's ``--out``), not files.

    Raises
    ------
    OutputError
        One line naming both paths and what to do.
    """
    ins = [(what, Path(p)) for what, p in inputs]
    outs = [(what, Path(p)) for what, p in outputs]
    for i, (what, out) in enumerate(outs):
        for what_in, src in ins:
            store = src.is_dir() and src.suffix.lower() == ".zarr"
            if same_file(out, src) or (store and _inside(out, src)):
                raise OutputError(
                    f"{out}: {what} would write over {what_in} {src}; "
                    "choose another name for the output"
                )
        for other_what, other in outs[i + 1 :]:
            if same_file(out, other):
                raise OutputError(
                    f"{out}: {what} and {other_what} name the same file; give each its own name"
                )
        if not folders:
            if out.is_dir() and out.suffix.lower() != ".zarr":
                raise OutputError(f"{out}: {what} is a folder; give a file name")
            check_writable(out.parent, what=what)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_writable(folder: Path, *, what: str = "output") -> None:
    """Refuse now, before any work, a folder that is missing or cannot take new files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OutputError(f"{folder}: the folder for the {what} does not exist; create it first")
    try:
        fd, probe = tempfile.mkstemp(prefix=".tessera-probe-", dir=folder)
    except OSError as exc:
        raise OutputError(
            f"{folder}: cannot write the {what} there ({exc.strerror or exc}); "
            "choose a folder you can write to"
        ) from exc
    os.close(fd)
    os.unlink(probe)


def sweep_parts(folder: Path) -> list[Path]:
    """Remove the temporary files that killed runs left in ``folder``; return them.

    A part file is stale when the process named in it is gone (or, for names
    from before the process id was kept, when it is more than a day old).
    """
    import time

    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    now = time.time()
    for path in entries:
        match = _PART.match(path.name)
        if match:
            stale = not _alive(int(match["pid"]))
        elif _OLD_PART.match(path.name):
            with contextlib.suppress(OSError):
                stale = now - path.lstat().st_mtime > OLD_PART_AGE
        else:
            continue
        if stale:
            remove(path)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def publish(pairs: Sequence[tuple[Path, Path]]) -> list[Path]:
    """Rename each finished ``(temp, final)`` into place; call only when all are complete.

    Renames in one folder do not need space, so once every file is whole they
    all land; if one rename still fails, the temporary files not yet renamed
    are removed and OutputError names the file.
    """
    done: list[Path] = []
    for n, (temp, final) in enumerate(pairs):
        try:
            if final.is_dir() and temp.is_dir():
                shutil.rmtree(final)
            os.replace(temp, final)
        except OSError as exc:
            for rest, _ in pairs[n:]:
                remove(rest)
            raise OutputError(f"{final}: cannot rename the finished output: {exc}") from exc
        done.append(final)
    return done


def remove(path: Path) -> None:
    """Delete a temporary file or folder, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def fsync_file(path: Path) -> None:
    """Force a finished file's bytes to disk before it is renamed into place."""
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def created_mode() -> int:
    """The mode ``open()`` gives a new file: 0o666 less the user's umask."""
    try:  # Linux says it without changing it (os.umask would, for every thread)
        with open("/proc/self/status", encoding="ascii") as f:
            mask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def mkstemp_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A new empty temporary file beside ``path``, with the user's umask (not 0600)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(name, created_mode())
    return Path(name)
