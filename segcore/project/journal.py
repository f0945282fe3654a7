"""The journal: every committed edit of one image, on disk before it is acknowledged.

An append-only file::

    b"TSRJNL1\\n"                                  (magic)
    then per record:  u32 length | u32 crc32 | payload     (little-endian)
    payload:          u32 header length | header JSON | blobs
    header:           {"op": ..., "max_instance": n, "patches": [[x, y, w, h, nbytes], ...]}
    blob:             new values of both layers in that box (zstd, see history.pack)

:meth:`Journal.append` writes one record and fsyncs before returning. On
open, records are read up to the first torn or corrupt one (a crash in the
middle of an append) and the file is cut there. Replaying writes each record's
new values, in order, which is idempotent: replaying twice gives the same maps.
A checkpoint (after the label store is flushed) empties the journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from segcore.errors import ProjectError
from segcore.labels.box import Box
from segcore.labels.history import Patch, Record, apply_patches
from segcore.labels.store import LabelStore
from segcore.project.atomic import disk_error, fsync_dir

MAGIC = b"TSRJNL1\n"
_FRAME = struct.Struct("<II")
_U32 = struct.Struct("<I")


class Journal:
    """Append-only, fsynced log of committed edits for one label store."""

    def __init__(self, path: Path, fd: int, valid_end: int) -> None:
        self.path = path
        self._fd = fd
        self._end = valid_end

    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open (or create) the journal at ``path``; a torn tail is cut off.

        Raises
        ------
        ProjectError
            If the file is not a Tessera journal or cannot be opened.
        """
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ProjectError(f"cannot open journal {path}: {exc}") from exc
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                os.write(fd, MAGIC)
                os.fsync(fd)
                fsync_dir(path.parent)
                return cls(path, fd, len(MAGIC))
            head = os.pread(fd, len(MAGIC), 0)
            if head != MAGIC:
                raise ProjectError(
                    f"{path} is not a Tessera journal; move it away to open the project "
                    "(edits since the last save in it are then lost)"
                )
            end = len(MAGIC)
            for _, next_end in _frames(fd, size):
                end = next_end
            if end != size:
                os.ftruncate(fd, end)
                os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            raise disk_error(path, exc, what="opening the journal") from exc
        except ProjectError:
            os.close(fd)
            raise
        return cls(path, fd, end)

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
        header = {
            "op": record.name,
            "max_instance": record.max_instance,
            "patches": [[p.box.x, p.box.y, p.box.w, p.box.h, len(p.new)] for p in record.patches],
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        payload = b"".join([_U32.pack(len(head)), head, *(p.new for p in record.patches)])
        frame = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        try:
            written = os.pwrite(self._fd, frame, self._end)
            if written != len(frame):
                raise OSError(28, "short write")
            os.fsync(self._fd)
        except OSError as exc:
            # If even this fails, the checksum drops the partial record on the next open.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._end)
            raise disk_error(self.path, exc, what="writing the journal") from exc
        self._end += len(frame)

    def records(self) -> Iterator[Record]:
        """Every whole record, oldest first (patches carry new values only)."""
        for payload, _ in _frames(self._fd, self._end):
            (hlen,) = _U32.unpack_from(payload, 0)
            header = json.loads(payload[4 : 4 + hlen])
            pos = 4 + hlen
            patches = []
            for x, y, w, h, n in header["patches"]:
                patches.append(Patch(Box(x, y, w, h), b"", payload[pos : pos + n]))
                pos += n
            yield Record(str(header["op"]), tuple(patches), int(header["max_instance"]))

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

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _frames(fd: int, size: int) -> Iterator[tuple[bytes, int]]:
    """(payload, end offset) of each whole, checksummed record."""
    pos = len(MAGIC)
    while pos + _FRAME.size <= size:
        length, crc = _FRAME.unpack(os.pread(fd, _FRAME.size, pos))
        if pos + _FRAME.size + length > size:
            return
        payload = os.pread(fd, length, pos + _FRAME.size)
        if len(payload) != length or zlib.crc32(payload) != crc:
            return
        pos += _FRAME.size + length
        yield payload, pos
