"""One pyramid level of an image as an image of its own (its level 0).

Jobs that work on a coarser level of a huge image (ranking tiles by
uncertainty, a quick overview run) hand the engine a :class:`LevelView`:
windows, sizes and the georeference are those of the level; the view does not
own the image (closing it leaves the image open).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.source import ImageSource, SourceMetadata


class LevelView:
    """Level ``level`` of ``source``; its pixel (x, y) is level-0 pixel (x, y) x ``factor``."""

    def __init__(self, source: ImageSource, level: int) -> None:
        if not 0 <= level < len(source.level_downsamples):
            raise SourceError(
                source.path, f"has levels 0..{len(source.level_downsamples) - 1}, not {level}"
            )
        self.source, self.level = source, level
        self.factor = float(source.level_downsamples[level])
        self.width, self.height = source.level_size(level)

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def band_count(self) -> int:
        return self.source.band_count

    @property
    def band_names(self) -> tuple[str, ...]:
        return self.source.band_names

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.source.dtype

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return (1.0,)

    @property
    def nodata(self) -> float | None:
        return self.source.nodata

    @property
    def depth(self) -> int:
        return self.source.depth

    @property
    def metadata(self) -> SourceMetadata:
        meta = self.source.metadata
        if meta.transform is None or self.factor == 1.0:
            return meta
        a, b, c, d, e, f = meta.transform
        k = self.factor
        return replace(meta, transform=(a * k, b * k, c, d * k, e * k, f))

    def level_size(self, level: int) -> tuple[int, int]:
        if level != 0:
            raise SourceError(self.path, f"a level view has only level 0, not {level}")
        return self.width, self.height

    def read_region(
        self, level: int, x: int, y: int, width: int, height: int, *, z: int = 0
    ) -> np.ndarray:
        self.level_size(level)
        return self.source.read_region(self.level, x, y, width, height, z=z)

    def thumbnail(self, max_size: int = 512) -> np.ndarray:
        return self.source.thumbnail(max_size)

    def close(self) -> None:
        """Nothing to release: the view does not own its image."""
