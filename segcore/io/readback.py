"""Read a just-written raster back, to catch write errors GDAL only logs.

GDAL (through rasterio) reports a failed write at close, a full disk among
them, only to its error handler: the close returns normally and leaves a short
or empty file. A writer keeps a running CRC-32 of what it wrote
(:func:`crc_of`) and calls :func:`check_written` after closing, before the file
is renamed into place.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def crc_of(values: np.ndarray[Any, Any], crc: int = 0) -> int:
    """``crc`` continued over the bytes of ``values`` (C order)."""
    return zlib.crc32(np.ascontiguousarray(values).tobytes(), crc)


def check_written(
    path: Path, windows: Iterable[tuple[int, int, int, int]], expected: int, *, band: int = 1
) -> None:
    """Raise OSError unless ``band`` of ``path`` has CRC ``expected`` read in ``windows`` order."""
    import rasterio
    from rasterio.windows import Window

    crc = 0
    try:
        with rasterio.Env(), rasterio.open(path) as ds:
            for x, y, w, h in windows:
                crc = crc_of(ds.read(band, window=Window(x, y, w, h)), crc)
    except Exception as exc:  # RasterioIOError, CPLE_* on a short or empty file
        raise OSError("the file is incomplete after closing it; is the disk full?") from exc
    if crc != expected:
        raise OSError("the file does not read back as written; is the disk full?")
