"""The journal's bytes: frames that find themselves again after damage.

Format 2 (written since this module exists)::

    b"TSRJNL2\\n"                                                  (magic)
    per record: sync b"\\xa5TJr" | u32 seq | u32 length | u32 crc32(payload)
                | u32 crc32(the 16 bytes before) | payload         (little-endian)

Each frame starts with a sync marker and checks its own header, so a reader
that meets a damaged frame searches for the next marker and carries on;
sequence numbers (1, 2, ... after each checkpoint) say how many records a
damaged stretch held. Format 1 (``b"TSRJNL1\\n"``, frames ``u32 length | u32
crc32 | payload``) is still read: there a damaged stretch is crossed by
looking for the next record header (``{"op":`` twelve bytes into a frame).

:func:`scan` reads a whole file and sorts its bytes into whole frames,
damaged stretches (reported) and a torn tail: an incomplete last frame, the
trace of a crash in the middle of an append, which is dropped silently.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass, field

Buffer = bytes | mmap.mmap

MAGIC = b"TSRJNL2\n"
MAGIC_V1 = b"TSRJNL1\n"
SYNC = b"\xa5TJr"
_HEAD = struct.Struct("<4sIIII")  # sync, seq, length, payload crc, header crc
HEADER = _HEAD.size
_V1_HEAD = struct.Struct("<II")  # length, payload crc
_V1_OP = b'{"op":'  # every record's JSON header starts so, 12 bytes into the frame
_V1_OP_AT = 12


def encode(seq: int, payload: bytes) -> bytes:
    """One format-2 frame holding ``payload``."""
    head = struct.pack("<4sIII", SYNC, seq, len(payload), zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


@dataclass(frozen=True)
class Frame:
    """A whole, checksummed record: its payload lies at ``data[start:end]``."""

    offset: int  # where the frame begins
    start: int
    end: int
    seq: int | None  # None in format 1


@dataclass
class Scan:
    """What :func:`scan` found in a journal file."""

    version: int  # 1 or 2; 0 when neither magic nor any frame was recognised
    magic_ok: bool
    frames: list[Frame] = field(default_factory=list)
    damaged: list[tuple[int, int]] = field(default_factory=list)  # byte ranges skipped
    lost: int = 0  # records in the damaged ranges (from sequence numbers, or an estimate)
    torn: int = 0  # bytes of an incomplete last frame

    @property
    def clean(self) -> bool:
        return self.magic_ok and not self.damaged


def scan(data: Buffer) -> Scan:
    """Sort the bytes of a journal file (bytes or an mmap) into frames, damage and a torn tail."""
    head = bytes(data[:8])
    if head == MAGIC or (head != MAGIC_V1 and _next_v2(data, 0) is not None):
        return _scan_v2(data, head == MAGIC)
    if head == MAGIC_V1 or _next_v1(data, 0) is not None:
        return _scan_v1(data, head == MAGIC_V1)
    return Scan(0, False)


# -- format 2 -------------------------------------------------------------------


def header(view: Buffer, pos: int) -> tuple[int, int, int] | None:
    """(seq, length, payload crc) of a format-2 header at ``pos`` whose checksum holds."""
    if len(view) - pos < HEADER or view[pos : pos + 4] != SYNC:
        return None
    _, seq, length, pcrc, hcrc = _HEAD.unpack_from(view, pos)
    if zlib.crc32(view[pos : pos + HEADER - 4]) != hcrc:
        return None
    return seq, length, pcrc


def _v2_frame(view: Buffer, pos: int) -> Frame | None:
    head = header(view, pos)
    if head is None:
        return None
    seq, length, pcrc = head
    start, end = pos + HEADER, pos + HEADER + length
    if end > len(view) or zlib.crc32(view[start:end]) != pcrc:
        return None
    return Frame(pos, start, end, seq)


def _next_v2(view: Buffer, pos: int) -> Frame | None:
    """The first whole frame starting at or after ``pos``."""
    while True:
        pos = view.find(SYNC, pos)
        if pos < 0:
            return None
        frame = _v2_frame(view, pos)
        if frame is not None:
            return frame
        pos += 1


def _scan_v2(view: Buffer, magic_ok: bool) -> Scan:
    out = Scan(2, magic_ok)
    if not magic_ok:
        out.damaged.append((0, min(len(MAGIC), len(view))))
    pos = len(MAGIC)
    last_seq = 0
    while pos < len(view):
        frame = _v2_frame(view, pos)
        if frame is None:
            frame = _next_v2(view, pos + 1)
            if frame is None:
                _v2_tail(view, pos, out)
                break
            out.damaged.append((pos, frame.offset))
        # sequence numbers say how many records the damage (or a cut) took
        out.lost += max((frame.seq or 0) - last_seq - 1, 0)
        out.frames.append(frame)
        last_seq = frame.seq or 0
        pos = frame.end
    return out


def _v2_tail(view: Buffer, pos: int, out: Scan) -> None:
    """Bytes after the last whole frame: a torn append, or damage."""
    rest = len(view) - pos
    head = header(view, pos)
    if head is not None and pos + HEADER + head[1] > len(view):
        out.torn = rest  # an incomplete last frame
        return
    if rest < HEADER and bytes(view[pos : pos + min(rest, 4)]) == SYNC[: min(rest, 4)]:
        out.torn = rest  # a header cut short
        return
    out.damaged.append((pos, len(view)))
    out.lost += max(1, _count(view, SYNC, pos, len(view)))


# -- format 1 -------------------------------------------------------------------


def _v1_frame(view: Buffer, pos: int) -> Frame | None:
    if len(view) - pos < _V1_HEAD.size:
        return None
    length, crc = _V1_HEAD.unpack_from(view, pos)
    start, end = pos + _V1_HEAD.size, pos + _V1_HEAD.size + length
    if end > len(view) or zlib.crc32(view[start:end]) != crc:
        return None
    return Frame(pos, start, end, None)


def _next_v1(view: Buffer, pos: int) -> Frame | None:
    at = pos + _V1_OP_AT
    while True:
        at = view.find(_V1_OP, at)
        if at < 0:
            return None
        frame = _v1_frame(view, at - _V1_OP_AT)
        if frame is not None:
            return frame
        at += 1


def _scan_v1(view: Buffer, magic_ok: bool) -> Scan:
    out = Scan(1, magic_ok)
    if not magic_ok:
        out.damaged.append((0, min(len(MAGIC_V1), len(view))))
    pos = len(MAGIC_V1)
    while pos < len(view):
        frame = _v1_frame(view, pos)
        if frame is None:
            frame = _next_v1(view, pos + 1)
            stop = frame.offset if frame else len(view)
            if frame is None:
                rest = len(view) - pos
                length = _V1_HEAD.unpack_from(view, pos)[0] if rest >= _V1_HEAD.size else 0
                if rest < _V1_HEAD.size or pos + _V1_HEAD.size + length > len(view):
                    out.torn = rest  # format 1 cannot tell a torn tail from a bad length
                else:
                    out.damaged.append((pos, len(view)))
                    out.lost += max(1, _count(view, _V1_OP, pos, stop))
                break
            out.damaged.append((pos, frame.offset))
            out.lost += max(1, _count(view, _V1_OP, pos, stop))
        out.frames.append(frame)
        pos = frame.end
    return out


def _count(view: Buffer, needle: bytes, start: int, stop: int) -> int:
    """Occurrences of ``needle`` in ``view[start:stop]`` (mmap has no ``count``)."""
    n = 0
    while (start := view.find(needle, start, stop)) >= 0:
        n += 1
        start += len(needle)
    return n
