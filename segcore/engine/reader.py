"""Read and normalise tiles ahead of the model on a small thread pool.

Readers release the GIL while decoding (GDAL, tifffile, OpenSlide), so a few
threads keep the next batch ready while the model runs. Sources are expected
to be safe to read from several threads (the readers in :mod:`segcore.io`
keep one handle per thread).

Normalisation is global, from the model file: ``(pixel / scale - mean) / std``
per band, never per tile. Pixels that are NaN, +-inf or equal to the source's
nodata value in every band are *invalid*: they are fed to the model as the
band mean (0 after normalisation) and come out as UNLABELLED. A tile whose
owned pixels are all invalid is not run at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from segcore.engine.tiling import Tile
from segcore.errors import InferenceError, ModelError, TesseraError
from segcore.io.source import ImageSource
from segcore.models.meta import Normalization


@dataclass(frozen=True)
class TileData:
    """A tile ready for the model.

    ``pixels`` is float32 (h, w, bands), normalised; None when the tile is
    skipped because everything it owns is nodata. ``invalid`` marks nodata or
    non-finite pixels of the read window (None: all valid).
    """

    tile: Tile
    pixels: np.ndarray | None
    invalid: np.ndarray | None


class Preparer:
    """Turns a tile window into normalised model input (thread-safe, no state)."""

    def __init__(
        self,
        source: ImageSource,
        *,
        norm: Normalization,
        bands: Sequence[int] | None = None,
    ) -> None:
        self.source = source
        count = source.band_count
        self.bands = None if bands is None else np.asarray([b - 1 for b in bands], np.intp)
        if self.bands is not None and (self.bands.min() < 0 or self.bands.max() >= count):
            raise InferenceError(
                f"{source.path}: band numbers {list(bands or [])} are outside 1..{count}"
            )
        used = count if self.bands is None else len(self.bands)
        mean, std = norm.mean, norm.std
        if len(mean) not in (1, used) or len(std) not in (1, used):
            raise ModelError(
                f"model normalisation has {len(mean)} means and {len(std)} stds "
                f"for {used} input bands"
            )
        std_arr = np.broadcast_to(np.asarray(std, np.float64), (used,))
        if (std_arr == 0).any() or norm.scale == 0:
            raise ModelError("model normalisation has a zero std or scale")
        mean_arr = np.broadcast_to(np.asarray(mean, np.float64), (used,))
        self._mul = (1.0 / (norm.scale * std_arr)).astype(np.float32)
        self._add = (-mean_arr / std_arr).astype(np.float32)
        self._nodata = source.nodata

    def __call__(self, tile: Tile) -> TileData:
        raw = self._read(tile)
        invalid = self._invalid(raw)
        core = tile.core
        cx, cy = core.x - tile.read.x, core.y - tile.read.y
        if invalid is not None and invalid[cy : cy + core.h, cx : cx + core.w].all():
            return TileData(tile, None, invalid)
        pixels = raw.astype(np.float32)
        pixels *= self._mul
        pixels += self._add
        if invalid is not None:
            pixels[invalid] = 0.0
        return TileData(tile, pixels, invalid)

    def _read(self, tile: Tile) -> np.ndarray:
        """The read window, mirrored where it reaches past the image."""
        src, r = self.source, tile.read
        xs = reflect_index(np.arange(r.x, r.x1), src.width)
        ys = reflect_index(np.arange(r.y, r.y1), src.height)
        x0, y0 = int(xs.min()), int(ys.min())
        w, h = int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0
        try:
            data = np.asarray(src.read_region(0, x0, y0, w, h))
        except TesseraError:
            raise
        except Exception as exc:
            raise InferenceError(
                f"{src.path}: reading the window at x={x0}, y={y0} ({w} x {h}) failed: {exc}"
            ) from exc
        if data.ndim == 2:
            data = data[..., None]
        if w != r.w:
            data = data[:, xs - x0]
        if h != r.h:
            data = data[ys - y0]
        if self.bands is not None:
            data = data[..., self.bands]
        return data

    def _invalid(self, raw: np.ndarray) -> np.ndarray | None:
        bad: np.ndarray | None = None
        if raw.dtype.kind in "fc":
            finite = np.isfinite(raw)
            if not finite.all():
                bad = ~finite.all(axis=-1)
        if self._nodata is not None and not np.isnan(self._nodata):
            nodata = (raw == raw.dtype.type(self._nodata)).all(axis=-1)
            if nodata.any():
                bad = nodata if bad is None else bad | nodata
        return bad


class TileReader:
    """Iterate prepared tiles in plan order, reading up to ``depth - 1`` tiles ahead.

    Use as a context manager (or call :meth:`close`): closing cancels pending
    reads and joins the threads.
    """

    def __init__(
        self, prepare: Preparer, tiles: Sequence[Tile], *, workers: int = 2, depth: int = 4
    ) -> None:
        self._prepare = prepare
        self._tiles = tiles
        self._depth = max(depth, 1)
        self._pool = ThreadPoolExecutor(max(workers, 1), thread_name_prefix="tessera-read")

    def __iter__(self) -> Iterator[TileData]:
        pending: deque[Future[TileData]] = deque()
        upcoming = iter(self._tiles)
        for tile in upcoming:
            pending.append(self._pool.submit(self._prepare, tile))
            if len(pending) >= self._depth:
                break
        while pending:
            yield pending.popleft().result()
            # the next read starts once the caller is done with this tile, so
            # at most ``depth`` tiles are held, the one being used included
            nxt = next(upcoming, None)
            if nxt is not None:
                pending.append(self._pool.submit(self._prepare, nxt))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reflect_index(coords: np.ndarray, length: int) -> np.ndarray:
    """Mirror coordinates into ``0 .. length - 1`` without repeating the edge pixel
    (NumPy's and PyTorch's "reflect"), however far outside they are.

    >>> reflect_index(np.arange(-2, 6), 4).tolist()
    [2, 1, 0, 1, 2, 3, 2, 1]
    """
    if length == 1:
        return np.zeros_like(coords)
    period = 2 * (length - 1)
    folded = np.abs(np.mod(coords, period))
    return np.asarray(np.where(folded >= length, period - folded, folded))
