"""NIfTI-1/2 (and Analyze) volumes through nibabel, sliced along one voxel axis.

The volume is never loaded whole: each plane is sliced from nibabel's lazy
``dataobj`` when read. ``axis`` picks the voxel axis that runs through the
planes (2 = axial for an RAS-stored file); axes past the third (time,
components) are flattened into more planes, ``z = slice + n_slices * t``.

A plane shows the two remaining voxel axes (a, b) with a along the columns
and b running *up* the rows, the usual radiological view::

    image[row, col] = volume[col, n_b - 1 - row]   (for axis 2)

Scaled files (``scl_slope``) come out as float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.base import BaseSource, Layout, check_dtype, check_size
from segcore.io.source import SourceMetadata


class NiftiSource(BaseSource):
    """A 3-D (or higher) NIfTI volume as a stack of 2-D planes."""

    def __init__(self, path: Path, *, axis: int = 2) -> None:
        import nibabel as nib

        try:
            # one gzip stream kept open: planes read in order cost one pass, not one each
            image: Any = nib.load(path, keep_file_open=True)
            shape = tuple(int(n) for n in image.shape)
            stored = np.dtype(image.get_data_dtype())
        except Exception as exc:
            raise SourceError(path, f"not a readable NIfTI file: {exc}") from exc
        if len(shape) < 2:
            raise SourceError(path, f"NIfTI volume has shape {shape}; need at least 2-D")
        self._flat = len(shape) == 2
        if self._flat:  # a single 2-D image: one plane
            shape, axis = (*shape, 1), 2
        if not 0 <= axis <= 2:
            raise SourceError(path, f"slice axis must be 0, 1 or 2, not {axis}")
        if stored.names is not None:
            raise SourceError(path, f"structured voxels ({stored}) are not supported")
        check_dtype(path, stored)
        self._image = image
        self._axis = axis
        self._shape = shape
        self._plane_axes = tuple(a for a in range(3) if a != axis)
        self._extra_shape = shape[3:]
        cols, rows = shape[self._plane_axes[0]], shape[self._plane_axes[1]]
        scaled = _is_scaled(image)
        dtype = np.dtype(np.float32) if scaled else stored
        check_size(path, cols * rows * dtype.itemsize, f"one {cols}x{rows} plane")
        depth = shape[axis] * int(np.prod(self._extra_shape, dtype=np.int64))
        layout = Layout(
            sizes=((cols, rows),), bands=1, dtype=dtype, depth=depth, band_names=("gray",)
        )
        zooms = [float(v) for v in image.header.get_zooms()[:3]]
        zooms += [1.0] * (3 - len(zooms))
        spacing = (zooms[self._plane_axes[0]], zooms[self._plane_axes[1]], zooms[axis])
        metadata = SourceMetadata(
            format="nifti",
            pixel_spacing=spacing,
            orientation="".join(str(c) for c in nib.aff2axcodes(image.affine)),  # type: ignore[no-untyped-call]
            extra={"shape": list(shape), "slice_axis": axis, "stored_dtype": str(stored)},
        )
        super().__init__(path, layout, metadata)

    @property
    def cache_token(self) -> str:
        return f"nifti axis {self._axis}"

    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        n_slices = self._shape[self._axis]
        index: list[Any] = [slice(None)] * len(self._shape)
        index[self._axis] = z % n_slices
        if self._extra_shape:
            rest = np.unravel_index(z // n_slices, self._extra_shape)
            for i, value in enumerate(rest):
                index[3 + i] = int(value)
        rows = self._shape[self._plane_axes[1]]
        # image row r shows voxel b = rows - 1 - r, so rows [y0, y1) are b in (rows-y1, rows-y0]
        index[self._plane_axes[0]] = slice(x0, x1)
        index[self._plane_axes[1]] = slice(rows - y1, rows - y0)
        if self._flat:
            index = index[:2]
        plane = np.asarray(self._image.dataobj[tuple(index)])
        return np.ascontiguousarray(plane.T[::-1])

    def _release(self) -> None:
        self._image.uncache()
        opener = getattr(self._image.dataobj, "_opener", None)  # the file kept open
        if opener is not None and not opener.closed:
            opener.close_if_mine()


def _is_scaled(image: Any) -> bool:
    slope = getattr(image.dataobj, "slope", 1.0)
    inter = getattr(image.dataobj, "inter", 0.0)
    finite = np.isfinite(slope) and np.isfinite(inter)
    return bool(finite and (slope != 1.0 or inter != 0.0))
