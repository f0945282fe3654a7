"""What every file reader shares: level bookkeeping, window clipping and limits.

A reader subclasses :class:`BaseSource`, fills a :class:`Layout` when it opens
its file and implements ``_read(level, x0, y0, x1, y1, z)`` for windows that lie
inside the level. :meth:`BaseSource.read_region` checks the request, pads what
falls outside the image with nodata (or 0) and turns any library failure into
a :class:`SourceError` that names the file.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from segcore.errors import SourceError
from segcore.io.source import SourceMetadata

# Largest array a reader may decode or return in one piece (a plain image read
# whole, one TIFF strip, one DICOM frame, one requested window).
DECODE_LIMIT = 1 << 30
# Tiles and strips bigger than this make windowed reads decode far more than
# they return; such files are refused with advice to retile them.
CHUNK_LIMIT = 256 << 20

T = TypeVar("T")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - loop always returns


def check_dtype(path: Path, dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Refuse pixel types the engine cannot compute with (complex, bool, text)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "uif" or dtype.itemsize > 8:
        what = {"c": "complex", "b": "1-bit/bool"}.get(dtype.kind, str(dtype))
        raise SourceError(
            path,
            f"{what} pixels ({dtype}) are not supported; "
            "convert the image to an integer or float type first",
        )
    return dtype


def check_size(path: Path, nbytes: int, what: str, limit: int = DECODE_LIMIT) -> None:
    """Refuse to decode ``nbytes`` in one piece when it passes ``limit``."""
    if nbytes > limit:
        raise SourceError(
            path,
            f"{what} would need {human_bytes(nbytes)} decoded at once "
            f"(limit {human_bytes(limit)}); the header may be corrupt or the file "
            "needs converting to a tiled format (e.g. gdal_translate -co TILED=YES)",
        )


@dataclass(frozen=True)
class Layout:
    """Shape of an opened image: level sizes as (width, height), bands, planes."""

    sizes: tuple[tuple[int, int], ...]
    bands: int
    dtype: np.dtype[Any]
    band_names: tuple[str, ...] = ()
    nodata: float | None = None
    depth: int = 1
    downsamples: tuple[float, ...] = ()  # default: width ratio to level 0


class BaseSource(ABC):
    """Shared half of every reader; subclasses implement :meth:`_read`."""

    # True when the pixels already sit in memory (lazy levels then stay in memory too)
    in_memory: bool = False

    def __init__(self, path: Path, layout: Layout, metadata: SourceMetadata) -> None:
        if not layout.sizes or min(min(s) for s in layout.sizes) < 1:
            raise SourceError(path, f"image has no pixels (size {layout.sizes[:1]})")
        self._path = path
        self._closed = False
        self._layout = layout
        self._metadata = metadata
        self._dtype = check_dtype(path, layout.dtype)
        self._nodata = _usable_nodata(layout.nodata, self._dtype)
        w0 = layout.sizes[0][0]
        h0 = layout.sizes[0][1]
        self._downsamples = layout.downsamples or tuple(
            (w0 / w + h0 / h) / 2 for w, h in layout.sizes
        )
        names = layout.band_names or tuple(f"band {i + 1}" for i in range(layout.bands))
        self._band_names = tuple(names)

    # -- the ImageSource protocol ------------------------------------------------
    @property
    def path(self) -> Path:
        return self._path

    @property
    def width(self) -> int:
        return self._layout.sizes[0][0]

    @property
    def height(self) -> int:
        return self._layout.sizes[0][1]

    @property
    def band_count(self) -> int:
        return self._layout.bands

    @property
    def band_names(self) -> tuple[str, ...]:
        return self._band_names

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self._downsamples

    @property
    def nodata(self) -> float | None:
        return self._nodata

    @property
    def depth(self) -> int:
        return self._layout.depth

    @property
    def metadata(self) -> SourceMetadata:
        return self._metadata

    @property
    def level_count(self) -> int:
        return len(self._layout.sizes)

    @property
    def cache_token(self) -> str:
        """What, besides the file, decides the pixels (e.g. the NIfTI axis)."""
        return self._metadata.format

    def level_size(self, level: int) -> tuple[int, int]:
        self._check_level(level)
        return self._layout.sizes[level]

    def read_region(
        self, level: int, x: int, y: int, width: int, height: int, *, z: int = 0
    ) -> np.ndarray:
        """Pixels of a window of one level, shape (height, width, bands).

        Parts of the window outside the image hold the nodata value (or 0).
        """
        if self._closed:
            raise SourceError(self._path, "the image was closed; open it again to read")
        self._check_level(level)
        if not 0 <= z < self.depth:
            raise SourceError(self._path, f"plane z={z} out of range 0..{self.depth - 1}")
        if width < 1 or height < 1:
            raise SourceError(self._path, f"empty window {width}x{height} requested")
        check_size(
            self._path,
            width * height * self.band_count * self._dtype.itemsize,
            f"a {width}x{height} window",
        )
        lw, lh = self._layout.sizes[level]
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, lw), min(y + height, lh)
        inside = x1 > x0 and y1 > y0
        if inside and (x0, y0, x1, y1) == (x, y, x + width, y + height):
            return self._read_checked(level, x0, y0, x1, y1, z)
        fill = self.nodata if self.nodata is not None else 0
        out = np.full((height, width, self.band_count), fill, dtype=self._dtype)
        if inside:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self._read_checked(level, x0, y0, x1, y1, z)
        return out

    def thumbnail(self, max_size: int = 512) -> np.ndarray:
        """The whole image, downsampled so its longer side is <= ``max_size``."""
        longest = max(self.width, self.height)
        target = max(1, min(max_size, longest))
        scale = target / longest
        out_w = max(1, round(self.width * scale))
        out_h = max(1, round(self.height * scale))
        # The coarsest level that still has at least the wanted resolution.
        level = 0
        for i in range(self.level_count):
            lw, lh = self._layout.sizes[i]
            if lw >= out_w and lh >= out_h:
                level = i
        lw, lh = self._layout.sizes[level]
        whole = self.read_region(level, 0, 0, lw, lh)
        rows = (np.arange(out_h) * lh // out_h).astype(np.intp)
        cols = (np.arange(out_w) * lw // out_w).astype(np.intp)
        return np.ascontiguousarray(whole[rows][:, cols])

    def close(self) -> None:
        """Release file handles; reading afterwards is a :class:`SourceError`."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> BaseSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self._path)!r}, {self.width}x{self.height}, "
            f"bands={self.band_count}, dtype={self._dtype}, levels={self.level_count})"
        )

    # -- for subclasses -------------------------------------------------------------
    @abstractmethod
    def _release(self) -> None:
        """Close the reader's files and drop its buffers (called once)."""

    @abstractmethod
    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        """Window [x0, x1) x [y0, y1) of ``level``, fully inside it, as (h, w, bands)."""

    def _read_checked(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        try:
            data = self._read(level, x0, y0, x1, y1, z)
        except SourceError:
            raise
        except MemoryError as exc:
            reason = "out of memory while reading; read a smaller window"
            raise SourceError(self._path, reason) from exc
        except Exception as exc:
            raise SourceError(
                self._path,
                f"could not read window x={x0}..{x1} y={y0}..{y1} of level {level}: {exc}; "
                "the file may be truncated or corrupt",
            ) from exc
        if data.ndim == 2:
            data = data[..., None]
        expected = (y1 - y0, x1 - x0, self.band_count)
        if data.shape != expected:
            raise SourceError(
                self._path, f"reader returned shape {data.shape}, expected {expected}"
            )
        return np.asarray(data, dtype=self._dtype)

    def _check_level(self, level: int) -> None:
        if not 0 <= level < self.level_count:
            raise SourceError(self._path, f"level {level} out of range 0..{self.level_count - 1}")


def _usable_nodata(nodata: float | None, dtype: np.dtype[Any]) -> float | None:
    """``nodata`` if pixels of ``dtype`` can hold it, else None (e.g. -9999 in uint8)."""
    if nodata is None or dtype.kind == "f":
        return nodata
    if not float(nodata).is_integer():
        return None
    info = np.iinfo(dtype)
    return nodata if info.min <= nodata <= info.max else None


class ThreadHandles(Generic[T]):
    """One library handle per thread, for libraries whose handles are not thread-safe.

    GDAL datasets must not be shared between threads; opening one per reading
    thread lets tiles decode in parallel instead of queueing on one lock.
    """

    def __init__(self, opener: Callable[[int], T], closer: Callable[[T], None]) -> None:
        self._opener = opener
        self._closer = closer
        # Keyed by the OS thread id, not threading.local: Qt's pool threads get a new
        # Python thread state per job, so a thread-local would open a handle per read.
        self._handles: dict[tuple[int, int], T] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, key: int = 0) -> T:
        """This thread's handle for ``key`` (e.g. a pyramid level), opened on first use."""
        slot = (threading.get_ident(), key)
        handle = self._handles.get(slot)
        if handle is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("source is closed")
                handle = self._handles.get(slot)
                if handle is None:
                    handle = self._handles[slot] = self._opener(key)
        return handle

    def close(self) -> None:
        with self._lock:
            self._closed = True
            handles = list(self._handles.values())
            self._handles.clear()
        for handle in handles:
            self._closer(handle)
