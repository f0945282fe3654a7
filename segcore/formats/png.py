"""PNG files written strip by strip, and read back through Pillow.

Pillow (and OpenCV) encode a PNG from a whole image in memory, which for a
20k x 20k label map is 400 MB to 1.6 GB. PNG itself is a stream: a header, an
optional palette, then one zlib stream of scanlines. So the writer here is
hand-written (struct + zlib, ~60 lines) and keeps only one strip in memory.
Reading uses Pillow.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError

PngMode = Literal["P", "L", "L16", "RGB"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# mode -> (bit depth, colour type, samples per pixel, numpy dtype)
_LAYOUT: dict[str, tuple[int, int, int, str]] = {
    "P": (8, 3, 1, "u1"),
    "L": (8, 0, 1, "u1"),
    "L16": (16, 0, 1, ">u2"),
    "RGB": (8, 2, 3, "u1"),
}
_IDAT_SIZE = 1 << 20


class PngWriter:
    """Write a PNG of known size from consecutive strips of rows.

    Parameters
    ----------
    path
        Output file.
    width, height
        Image size in pixels.
    mode
        ``"P"`` (8-bit indexed, needs ``palette``), ``"L"`` (8-bit grey),
        ``"L16"`` (16-bit grey) or ``"RGB"`` (8-bit colour).
    palette
        256 RGB triples for ``"P"``.

    Example
    -------
    >>> with PngWriter(p, 4, 2, mode="L") as png:  # doctest: +SKIP
    ...     png.write_rows(np.zeros((2, 4), np.uint8))
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        *,
        mode: PngMode,
        palette: list[tuple[int, int, int]] | None = None,
        level: int = 6,
    ) -> None:
        if not (0 < width < 2**31 and 0 < height < 2**31):
            raise FormatError(f"{path}: PNG cannot hold an image of {width} x {height}")
        depth, colour_type, self._samples, dtype = _LAYOUT[mode]
        self._dtype = np.dtype(dtype)
        self.width, self.height = width, height
        self._rows_left = height
        self._zip = zlib.compressobj(level)
        self._buffer = bytearray()
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._file.write(_SIGNATURE)
        ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
        self._chunk(b"IHDR", ihdr)
        if mode == "P":
            if palette is None or len(palette) != 256:
                raise FormatError(f"{path}: an indexed PNG needs a palette of 256 colours")
            self._chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).ravel()))

    def _chunk(self, kind: bytes, data: bytes) -> None:
        self._file.write(struct.pack(">I", len(data)))
        self._file.write(kind)
        self._file.write(data)
        self._file.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))

    def write_rows(self, rows: NDArray[np.generic]) -> None:
        """Append ``rows`` (shape ``(h, width)``, or ``(h, width, 3)`` for RGB)."""
        expected = (self.width, self._samples) if self._samples > 1 else (self.width,)
        if rows.shape[1:] != expected or rows.shape[0] > self._rows_left:
            raise FormatError(
                f"PNG strip of shape {rows.shape} does not fit an image of "
                f"{self.width} x {self.height} with {self._rows_left} rows left"
            )
        lines = rows.astype(self._dtype).reshape(rows.shape[0], -1).view(np.uint8)
        framed = np.zeros((lines.shape[0], lines.shape[1] + 1), np.uint8)  # filter byte 0
        framed[:, 1:] = lines
        self._buffer += self._zip.compress(framed.tobytes())
        self._rows_left -= rows.shape[0]
        if len(self._buffer) >= _IDAT_SIZE:
            self._chunk(b"IDAT", bytes(self._buffer))
            self._buffer.clear()

    def close(self) -> None:
        """Finish the file; raises if fewer rows than ``height`` were written."""
        if self._file.closed:
            return
        try:
            if self._rows_left:
                raise FormatError(f"PNG closed with {self._rows_left} rows not written")
            self._buffer += self._zip.flush()
            self._chunk(b"IDAT", bytes(self._buffer))
            self._chunk(b"IEND", b"")
        finally:
            self._file.close()

    def __enter__(self) -> PngWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()


def read_png(path: Path) -> tuple[NDArray[np.generic], str]:
    """Pixels of a PNG (indices for indexed images) and Pillow's mode name.

    Raises :class:`FormatError` naming the file when it cannot be decoded.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode not in {"P", "L", "I;16", "I;16B", "I", "RGB", "1"}:
                return np.asarray(image.convert("RGB")), "RGB"
            return np.asarray(image), mode
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: file not found") from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise FormatError(f"{path}: cannot read the PNG: {exc}") from exc
