"""The journal: every committed edit of one image, on disk before it is acknowledged.

An append-only file of self-delimiting, checksummed frames (the byte layout
is in :mod:`segcore.project.frames`)::

    payload:  u32 header length | header JSON | blobs
    header:   {"op": ..., "max_instance": n, "patches": [[x, y, w, h, nbytes(, z)], ...]}
              (z: the slice of a label volume, written only when not 0)
    blob:     new values of both layers in that box (zstd, see history.pack)

:meth:`Journal.append` writes one frame and fsyncs before returning. Opening
salvages, it never truncates blindly: every whole frame is kept, a damaged
stretch in the middle is stepped over (the frames after it are still
replayed) and counted, and the damaged file is kept aside as
``<id>.journal.damaged-<time>`` before the journal is rewritten with the
frames that could be read. Only an incomplete last frame (a crash in the
middle of an append) is dropped without a word. A format-1 journal is read
and rewritten as format 2.

Replaying writes each record's new values, in order, which is idempotent:
replaying twice gives the same maps. A checkpoint (after the label store is
flushed) empties the journal.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import shutil
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from segcore.errors import ProjectError
from segcore.labels.box import Box
from segcore.labels.history import Patch, Record, apply_patches
from segcore.labels.store import LabelStore
from segcore.project import frames
from segcore.project.atomic import disk_error, fsync_dir

MAGIC = frames.MAGIC
_U32 = struct.Struct("<I")


class JournalUnreadable(ProjectError):
    """The journal file holds nothing Tessera can read (restore it, or accept the loss)."""


@dataclass(frozen=True)
class Salvage:
    """What opening a journal found.

    ``records`` whole records are kept (they are replayed); ``lost`` records
    could not be read (exact for format 2, which numbers its records; an
    estimate for format 1); ``backup`` is the damaged file kept aside, if any.
    """

    records: int = 0
    lost: int = 0
    damaged_bytes: int = 0
    torn_bytes: int = 0
    backup: Path | None = None
    upgraded: bool = False  # a format-1 journal rewritten as format 2

    @property
    def damaged(self) -> bool:
        return self.damaged_bytes > 0 or self.lost > 0


def encode_record(record: Record) -> bytes:
    """The payload of one record (its new values only)."""
    header = {
        "op": record.name,
        "max_instance": record.max_instance,
        "patches": [_patch_head(p) for p in record.patches],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([_U32.pack(len(head)), head, *(p.new for p in record.patches)])


def _patch_head(p: Patch) -> list[int]:
    """A patch in the record header: x, y, w, h, bytes, and its slice in a volume."""
    head = [p.box.x, p.box.y, p.box.w, p.box.h, len(p.new)]
    return head if p.plane == 0 else [*head, p.plane]


def decode_record(payload: bytes) -> Record:
    """Inverse of :func:`encode_record`; ``ValueError`` when the payload is malformed."""
    try:
        (hlen,) = _U32.unpack_from(payload, 0)
        header = json.loads(payload[4 : 4 + hlen])
        pos = 4 + hlen
        patches = []
        for x, y, w, h, n, *zs in header["patches"]:
            z = zs[0] if len(zs) == 1 else -1 if zs else 0
            if min(x, y, w, h, n, z) < 0 or pos + n > len(payload):
                raise ValueError(f"patch {[x, y, w, h, n, *zs]} does not fit the record")
            box = Box(int(x), int(y), int(w), int(h))
            patches.append(Patch(box, b"", payload[pos : pos + n], int(z)))
            pos += n
        if pos != len(payload):
            raise ValueError("the record has bytes left over")
        return Record(str(header["op"]), tuple(patches), int(header["max_instance"]))
    except (struct.error, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed journal record: {exc}") from exc


class Journal:
    """Append-only, fsynced log of committed edits for one label store."""

    def __init__(self, path: Path, fd: int, end: int, last_seq: int, salvage: Salvage) -> None:
        self.path = path
        self._fd = fd
        self._end = end
        self._seq = last_seq + 1  # the next record's number
        self.salvage = salvage

    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open (or create) the journal at ``path``, salvaging what a crash or damage left.

        Raises
        ------
        ProjectError
            If the file holds no Tessera journal at all (it is left as it is),
            or the disk refuses while the journal is salvaged (nothing changed).
        """
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask
        except OSError as exc:
            raise ProjectError(f"cannot open journal {path}: {exc}") from exc
        try:
            return cls._open(path, fd)
        except OSError as exc:
            os.close(fd)
            raise disk_error(path, exc, what="opening the journal") from exc
        except ProjectError:
            os.close(fd)
            raise

    @classmethod
    def _open(cls, path: Path, fd: int) -> Journal:
        size = os.fstat(fd).st_size
        if size < len(MAGIC) and MAGIC.startswith(os.pread(fd, size, 0)):
            os.ftruncate(fd, 0)  # new, or its creation was cut short
            os.pwrite(fd, MAGIC, 0)
            os.fsync(fd)
            fsync_dir(path.parent)
            return cls(path, fd, len(MAGIC), 0, Salvage())
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as data:
            found = frames.scan(data)
            if found.version == 0:
                raise JournalUnreadable(
                    f"{path} is not a Tessera journal: no record in it can be read; move it "
                    "away to open the image (edits since the last save in it are then lost)"
                )
            good = [f for f in found.frames if _decodes(data[f.start : f.end])]
            bad = len(found.frames) - len(good)
            salvage = Salvage(
                records=len(good),
                lost=found.lost + bad,
                damaged_bytes=sum(b - a for a, b in found.damaged) + bad,
                torn_bytes=found.torn,
                upgraded=found.version == 1,
            )
            if found.version == 2 and found.clean and not salvage.damaged:
                end = good[-1].end if good else len(MAGIC)
                if end != size:  # a torn tail: an append cut short by a crash
                    os.ftruncate(fd, end)
                    os.fsync(fd)
                last = (good[-1].seq or 0) if good else 0
                return cls(path, fd, end, last, salvage)
            backup = _backup(path) if salvage.damaged else None
            end = _rewrite(path, (data[f.start : f.end] for f in good), backup)
        os.close(fd)
        fd = os.open(path, os.O_RDWR)
        return cls(path, fd, end, len(good), replace(salvage, backup=backup))

    @property
    def empty(self) -> bool:
        return self._end <= len(MAGIC)

    @property
    def nbytes(self) -> int:
        return self._end

    def append(self, record: Record) -> None:
        """Write ``record``'s new values and fsync; returns only once it is durable.

        Raises
        ------
        ProjectError
            If the disk refuses; the journal is cut back to its last whole record.
        """
        frame = frames.encode(self._seq, encode_record(record))
        try:
            written = os.pwrite(self._fd, frame, self._end)
            if written != len(frame):
                raise OSError(28, "short write")
            os.fsync(self._fd)
        except OSError as exc:
            # If even this fails, the next open drops the partial frame as a torn tail.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._end)
            raise disk_error(self.path, exc, what="writing the journal") from exc
        self._end += len(frame)
        self._seq += 1

    def records(self) -> Iterator[Record]:
        """Every whole record, oldest first (patches carry new values only)."""
        pos = len(MAGIC)
        while pos + frames.HEADER <= self._end:
            header = frames.header(os.pread(self._fd, frames.HEADER, pos), 0)
            payload = b"" if header is None else os.pread(self._fd, header[1], pos + frames.HEADER)
            if header is None or zlib.crc32(payload) != header[2]:
                return  # cannot happen after open; never replay a frame that does not check
            yield decode_record(payload)
            pos += frames.HEADER + len(payload)

    def replay(self, store: LabelStore) -> int:
        """Write every record into ``store`` in order; returns how many."""
        count = 0
        for record in self.records():
            apply_patches(store, record.patches, "new")
            store.note_max_instance(record.max_instance)
            count += 1
        return count

    def checkpoint(self) -> None:
        """Empty the journal; call only after the store it covers is flushed."""
        try:
            os.ftruncate(self._fd, len(MAGIC))
            os.fsync(self._fd)
        except OSError as exc:
            raise disk_error(self.path, exc, what="emptying the journal") from exc
        self._end = len(MAGIC)
        self._seq = 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def backup_name(path: Path) -> Path:
    """A free name ``<file>.damaged-<time>[-n]`` next to ``path``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    return candidate


def _backup(path: Path) -> Path:
    """Keep the damaged journal under a new name (a hard link, else a copy), durably."""
    target = backup_name(path)
    try:
        os.link(path, target)
    except OSError:  # no hard links here (FAT, some network shares): copy
        try:
            shutil.copyfile(path, target)
            fd = os.open(target, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            target.unlink(missing_ok=True)
            raise
    fsync_dir(path.parent)
    return target


def _decodes(payload: bytes) -> bool:
    try:
        decode_record(payload)
    except ValueError:
        return False
    return True


def _rewrite(path: Path, payloads: Iterable[bytes], backup: Path | None) -> int:
    """Replace the journal with format-2 frames of ``payloads``; returns its size."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # less the umask
        try:
            end = os.write(fd, MAGIC)
            for seq, payload in enumerate(payloads, start=1):
                frame = frames.encode(seq, payload)
                view = memoryview(frame)
                while view:
                    view = view[os.write(fd, view) :]
                end += len(frame)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError:
        tmp.unlink(missing_ok=True)
        if backup is not None:  # the journal itself is untouched: the copy is not needed
            backup.unlink(missing_ok=True)
        raise
    return end
