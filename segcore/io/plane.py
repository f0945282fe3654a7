"""One plane of a volume as a 2-D image, for code that reads ``z = 0`` only.

The engine and the training data read level-0 windows of an
:class:`~segcore.io.source.ImageSource` without a slice index; a
:class:`PlaneSource` gives them slice ``z`` of a NIfTI or DICOM volume, with
the volume's metadata (spacing, orientation) unchanged. It does not own the
volume: closing it leaves the volume open (its owner closes it once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.source import ImageSource, SourceMetadata


class PlaneSource:
    """Slice ``z`` of ``volume`` as a one-plane :class:`ImageSource`."""

    def __init__(self, volume: ImageSource, z: int) -> None:
        if not 0 <= z < volume.depth:
            raise SourceError(volume.path, f"plane z={z} out of range 0..{volume.depth - 1}")
        self.volume = volume
        self.z = z

    path = property(lambda self: Path(self.volume.path))
    width = property(lambda self: int(self.volume.width))
    height = property(lambda self: int(self.volume.height))
    band_count = property(lambda self: int(self.volume.band_count))
    band_names = property(lambda self: tuple(self.volume.band_names))
    level_downsamples = property(lambda self: tuple(self.volume.level_downsamples))
    nodata = property(lambda self: self.volume.nodata)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.volume.dtype

    @property
    def depth(self) -> int:
        return 1

    @property
    def metadata(self) -> SourceMetadata:
        return self.volume.metadata

    @property
    def cache_token(self) -> str:
        return f"{getattr(self.volume, 'cache_token', '')} plane {self.z}"

    def level_size(self, level: int) -> tuple[int, int]:
        return self.volume.level_size(level)

    def read_region(
        self, level: int, x: int, y: int, width: int, height: int, *, z: int = 0
    ) -> np.ndarray:
        if z != 0:
            raise SourceError(self.path, f"plane {self.z} of the volume has only z=0, not {z}")
        return self.volume.read_region(level, x, y, width, height, z=self.z)

    def thumbnail(self, max_size: int = 512) -> np.ndarray:
        """This plane, downsampled so its longer side is <= ``max_size`` (nearest)."""
        longest = max(self.width, self.height)
        scale = max(1, min(max_size, longest)) / longest
        out_w, out_h = max(1, round(self.width * scale)), max(1, round(self.height * scale))
        level = 0
        for i in range(len(self.level_downsamples)):
            lw, lh = self.level_size(i)
            if lw >= out_w and lh >= out_h:
                level = i
        lw, lh = self.level_size(level)
        whole = self.read_region(level, 0, 0, lw, lh)
        rows = (np.arange(out_h) * lh // out_h).astype(np.intp)
        cols = (np.arange(out_w) * lw // out_w).astype(np.intp)
        return np.ascontiguousarray(whole[rows][:, cols])

    def close(self) -> None:
        """Nothing to release: the volume belongs to whoever opened it."""
