"""An in-memory :class:`ImageSource` over a NumPy array (tests, small images)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from segcore.io.source import SourceMetadata


class ArraySource:
    """Serve a (h, w) or (h, w, bands) array as an image with a 2x pyramid.

    Levels are made by striding (nearest), which is fine for the small arrays
    this class is meant for.
    """

    def __init__(
        self,
        array: np.ndarray,
        *,
        name: str = "array",
        nodata: float | None = None,
        metadata: SourceMetadata | None = None,
    ) -> None:
        if array.ndim == 2:
            array = array[..., None]
        if array.ndim != 3 or array.shape[0] < 1 or array.shape[1] < 1:
            raise ValueError(f"expected (h, w) or (h, w, bands), got {array.shape}")
        self._levels = [array]
        while max(self._levels[-1].shape[:2]) > 256:
            self._levels.append(self._levels[-1][::2, ::2])
        self._path = Path(name)
        self._nodata = nodata
        self._metadata = metadata or SourceMetadata(format="array")

    @property
    def path(self) -> Path:
        return self._path

    @property
    def width(self) -> int:
        return int(self._levels[0].shape[1])

    @property
    def height(self) -> int:
        return int(self._levels[0].shape[0])

    @property
    def band_count(self) -> int:
        return int(self._levels[0].shape[2])

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(f"band {i + 1}" for i in range(self.band_count))

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._levels[0].dtype

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return tuple(self.width / lv.shape[1] for lv in self._levels)

    @property
    def nodata(self) -> float | None:
        return self._nodata

    @property
    def depth(self) -> int:
        return 1

    @property
    def metadata(self) -> SourceMetadata:
        return self._metadata

    def level_size(self, level: int) -> tuple[int, int]:
        h, w = self._levels[level].shape[:2]
        return int(w), int(h)

    def read_region(
        self, level: int, x: int, y: int, width: int, height: int, *, z: int = 0
    ) -> np.ndarray:
        data = self._levels[level]
        fill = self._nodata if self._nodata is not None else 0
        out = np.full((height, width, self.band_count), fill, dtype=data.dtype)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, data.shape[1]), min(y + height, data.shape[0])
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = data[y0:y1, x0:x1]
        return out

    def thumbnail(self, max_size: int = 512) -> np.ndarray:
        step = max(1, -(-max(self.width, self.height) // max_size))
        return self._levels[0][::step, ::step].copy()

    def close(self) -> None:
        pass
