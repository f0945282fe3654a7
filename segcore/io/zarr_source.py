"""Zarr arrays and multiscale groups (OME-NGFF ``multiscales``), v2 or v3.

Axes come from the metadata when it names them (OME-NGFF ``axes``, xarray's
``_ARRAY_DIMENSIONS`` or zarr v3 ``dimension_names``): y and x are the image
plane; c, channel, band or s are bands; anything else (z, t, ...) is
flattened into planes. Unnamed arrays: the last two axes are (y, x), unless
there are three or more axes and the last has at most 4 entries, which then
holds the bands, e.g. (h, w, 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.axes import AxisPlan
from segcore.io.base import CHUNK_LIMIT, BaseSource, Layout, check_dtype, check_size
from segcore.io.source import SourceMetadata

_BAND_NAMES = ("c", "channel", "band", "bands", "s", "sample")


class ZarrSource(BaseSource):
    """A zarr array, or the levels of a multiscale zarr group."""

    def __init__(self, path: Path) -> None:
        import zarr

        try:
            node = zarr.open(str(path), mode="r")
        except Exception as exc:
            raise SourceError(path, f"not a readable zarr store: {exc}") from exc
        arrays, names = _levels(path, node)
        first = arrays[0]
        check_dtype(path, np.dtype(first.dtype))
        self._plan = _plan(path, tuple(first.shape), names)
        sizes = []
        for array in arrays:
            chunk_bytes = int(np.prod(array.chunks)) * array.dtype.itemsize
            check_size(path, chunk_bytes, f"one chunk of {array.chunks}", CHUNK_LIMIT)
            sizes.append((int(array.shape[self._plan.x]), int(array.shape[self._plan.y])))
        self._arrays = arrays
        layout = Layout(
            sizes=tuple(sizes), bands=self._plan.bands, dtype=first.dtype, depth=self._plan.depth
        )
        fill = getattr(first, "fill_value", None)
        extra: dict[str, Any] = {"axes": list(names) if names else None, "shape": list(first.shape)}
        if fill is not None and np.isscalar(fill):
            extra["fill_value"] = float(fill)  # type: ignore[arg-type]
        super().__init__(path, layout, SourceMetadata(format="zarr", extra=extra))

    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        return self._plan.read(self._arrays[level], z, slice(y0, y1), slice(x0, x1))

    def _release(self) -> None:
        self._arrays = []


def _levels(path: Path, node: Any) -> tuple[list[Any], tuple[str, ...]]:
    """The arrays to serve as levels and the axis names, from an array or a group."""
    import zarr

    if isinstance(node, zarr.Array):
        return [node], _array_names(node)
    attrs = node.attrs.asdict()
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if not multiscales:
        children = sorted(name for name, _ in node.arrays())
        if len(children) == 1:
            array = node[children[0]]
            return [array], _array_names(array)
        listing = ", ".join(children[:8]) or "none"
        raise SourceError(
            path,
            f"zarr group has no 'multiscales' metadata; open one of its arrays ({listing})",
        )
    scale = multiscales[0]
    try:
        arrays = [node[d["path"]] for d in scale["datasets"]]
    except (KeyError, TypeError) as exc:
        raise SourceError(path, f"multiscales metadata names a missing array: {exc}") from exc
    names = tuple(
        (a["name"] if isinstance(a, dict) else str(a)).lower() for a in scale.get("axes", ())
    )
    return arrays, names or _array_names(arrays[0])


def _array_names(array: Any) -> tuple[str, ...]:
    names = getattr(array.metadata, "dimension_names", None)
    if names and all(names):
        return tuple(str(n).lower() for n in names)
    dims = array.attrs.get("_ARRAY_DIMENSIONS")
    if isinstance(dims, list) and len(dims) == array.ndim:
        return tuple(str(n).lower() for n in dims)
    return ()


def _plan(path: Path, shape: tuple[int, ...], names: tuple[str, ...]) -> AxisPlan:
    ndim = len(shape)
    if ndim < 2:
        raise SourceError(path, f"zarr array has shape {shape}; need at least 2 axes")
    if names and len(names) == ndim and "y" in names and "x" in names:
        band = next((i for i, n in enumerate(names) if n in _BAND_NAMES), None)
        return AxisPlan(shape, names.index("y"), names.index("x"), band)
    if ndim >= 3 and shape[-1] <= 4:
        return AxisPlan(shape, ndim - 3, ndim - 2, ndim - 1)
    return AxisPlan(shape, ndim - 2, ndim - 1, None)
