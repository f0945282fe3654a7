"""The one interface every image reader implements.

Coordinates: ``read_region(level, x, y, width, height)`` takes a window in the
pixel grid *of that level* (level 0 is full resolution) and returns an array
of shape ``(height, width, bands)`` in the source's dtype. Windows that reach
past the image edge are filled with the nodata value (or 0).

Volumes (NIfTI, multi-frame DICOM) are stacks of 2-D planes: ``depth`` is the
number of planes and ``z`` picks one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class SourceMetadata:
    """What a reader knows about where and how the pixels were taken.

    ``transform`` is the affine (a, b, c, d, e, f) mapping pixel (col, row)
    to map coordinates: ``x = a*col + b*row + c``, ``y = d*col + e*row + f``.
    """

    format: str
    crs: str | None = None  # WKT or "EPSG:n"
    transform: tuple[float, float, float, float, float, float] | None = None
    mpp: tuple[float, float] | None = None  # microns per pixel (x, y), slides
    pixel_spacing: tuple[float, ...] | None = None  # mm, DICOM / NIfTI voxels
    orientation: str | None = None  # NIfTI axis codes, e.g. "RAS"
    modality: str | None = None  # DICOM
    window: tuple[float, float] | None = None  # DICOM (centre, width)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": self.format}
        for key in (
            "crs",
            "transform",
            "mpp",
            "pixel_spacing",
            "orientation",
            "modality",
            "window",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        out.update(self.extra)
        return out


@runtime_checkable
class ImageSource(Protocol):
    """A readable, possibly huge, possibly multi-level image."""

    @property
    def path(self) -> Path: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def band_count(self) -> int: ...

    @property
    def band_names(self) -> tuple[str, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        """Downsample factor of each pyramid level; level 0 is 1.0."""
        ...

    @property
    def nodata(self) -> float | None: ...

    @property
    def depth(self) -> int:
        """Number of planes (1 for 2-D images)."""
        ...

    @property
    def metadata(self) -> SourceMetadata: ...

    def level_size(self, level: int) -> tuple[int, int]:
        """(width, height) of a pyramid level."""
        ...

    def read_region(
        self, level: int, x: int, y: int, width: int, height: int, *, z: int = 0
    ) -> np.ndarray:
        """Pixels of a window of one level, shape (height, width, bands)."""
        ...

    def thumbnail(self, max_size: int = 512) -> np.ndarray:
        """The whole image, downsampled so its longer side is <= max_size."""
        ...

    def close(self) -> None: ...
