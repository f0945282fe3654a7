"""GeoTIFF, COG, JPEG2000, VRT and any other GDAL raster, through rasterio.

Reads are windowed, so only the blocks a window touches are decoded. The
file's overviews become pyramid levels: each level is the overview opened as
its own dataset (GDAL's ``OVERVIEW_LEVEL``), so a window in a level's pixel
grid maps exactly onto the stored overview pixels with no resampling.
GDAL datasets are not thread-safe; each reading thread gets its own handles.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.base import CHUNK_LIMIT, BaseSource, Layout, ThreadHandles, check_size
from segcore.io.source import SourceMetadata

# GDAL keeps decoded blocks in a cache of 5% of the RAM by default (1.6 GB on a
# 32 GB machine), which random reads over a huge raster fill. Cap it before
# GDAL first reads the option; a GDAL_CACHEMAX the user set wins.
os.environ.setdefault("GDAL_CACHEMAX", "128")


class NotARaster(SourceError):
    """GDAL does not recognise the file at all (as opposed to refusing its content)."""


class RasterSource(BaseSource):
    """A raster GDAL can open; levels are its overviews."""

    def __init__(self, path: Path) -> None:
        import rasterio

        self._rio_path = str(path)
        try:
            with _quiet(), rasterio.open(self._rio_path) as ds:
                layout, metadata = _describe(path, ds)
                self._band_nodata = _mixed_nodata(ds)
                self._has_mask = self._band_nodata or _has_mask_band(ds)
                sizes = [layout.sizes[0]]
                for i in range(len(ds.overviews(1)) if ds.count else 0):
                    with rasterio.open(self._rio_path, overview_level=i) as ov:
                        sizes.append((ov.width, ov.height))
        except SourceError:
            raise
        except Exception as exc:
            raise NotARaster(path, f"GDAL cannot read it: {_first_line(exc)}") from exc
        # Keep only overviews that really shrink (some drivers list odd ones).
        levels = [sizes[0]]
        self._overview_index = [-1]
        for i, size in enumerate(sizes[1:]):
            if size[0] < levels[-1][0] and size[1] <= levels[-1][1]:
                levels.append(size)
                self._overview_index.append(i)
        layout = Layout(
            sizes=tuple(levels),
            bands=layout.bands,
            dtype=layout.dtype,
            band_names=layout.band_names,
            nodata=layout.nodata,
        )
        super().__init__(path, layout, metadata)
        self._handles: ThreadHandles[Any] = ThreadHandles(self._open_level, lambda ds: ds.close())

    def _open_level(self, level: int) -> Any:
        import rasterio

        index = self._overview_index[level]
        with _quiet():
            if index < 0:
                return rasterio.open(self._rio_path)
            return rasterio.open(self._rio_path, overview_level=index)

    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        from rasterio.windows import Window

        ds = self._handles.get(level)
        with _quiet():
            data = ds.read(window=Window(x0, y0, x1 - x0, y1 - y0))
        return np.moveaxis(data, 0, -1)

    @property
    def has_mask(self) -> bool:
        """True when the file has a GDAL mask band (``.msk`` or internal), not nodata/alpha,
        or when its bands have different nodata values (a stack of band files)."""
        return self._has_mask

    def read_mask(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """(height, width) bool of the mask band, True where pixels are valid.

        With a nodata value per band, a pixel is valid unless every band is its
        own band's nodata (the one rule of :mod:`segcore.io.validity`).
        """
        from rasterio.windows import Window

        ds = self._handles.get(level)
        window = Window(x, y, width, height)
        with _quiet():
            if self._band_nodata:
                masks: np.ndarray = np.asarray(ds.read_masks(window=window)) > 0
                return np.asarray(masks.any(axis=0))
            mask = ds.read_masks(1, window=window)
        return np.asarray(mask) > 0

    def _release(self) -> None:
        self._handles.close()


def _describe(path: Path, ds: Any) -> tuple[Layout, SourceMetadata]:
    """Layout and metadata of an open rasterio dataset; refuses what it cannot read."""
    if ds.count == 0:
        subs = list(ds.subdatasets)[:5]
        hint = f"; open one of its subdatasets, e.g. {subs[0]}" if subs else ""
        raise SourceError(path, f"has no raster bands ({ds.driver}){hint}")
    dtypes = set(ds.dtypes)
    if len(dtypes) > 1:
        raise SourceError(path, f"bands have different pixel types {sorted(dtypes)}")
    dtype_name = ds.dtypes[0]
    if dtype_name.startswith("complex"):
        raise SourceError(
            path, f"complex pixels ({dtype_name}) are not supported; convert to real values first"
        )
    dtype = np.dtype(dtype_name)
    block_h, block_w = ds.block_shapes[0]
    check_size(
        path,
        block_h * block_w * ds.count * dtype.itemsize,
        f"one {block_w}x{block_h} storage block",
        limit=CHUNK_LIMIT,
    )
    layout = Layout(
        sizes=((ds.width, ds.height),),
        bands=ds.count,
        dtype=dtype,
        band_names=_band_names(ds),
        nodata=None if ds.nodata is None or _mixed_nodata(ds) else float(ds.nodata),
    )
    crs = None
    transform = None
    if ds.crs is not None:
        epsg = ds.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg is not None else ds.crs.to_wkt()
    if ds.crs is not None or not ds.transform.is_identity:
        t = ds.transform
        transform = (t.a, t.b, t.c, t.d, t.e, t.f)
    extra: dict[str, Any] = {"driver": ds.driver}
    if ds.compression is not None:
        extra["compression"] = ds.compression.value
    extra["block"] = [block_w, block_h]
    fmt = {"GTiff": "geotiff", "COG": "geotiff", "JP2OpenJPEG": "jpeg2000"}.get(
        ds.driver, ds.driver.lower()
    )
    return layout, SourceMetadata(format=fmt, crs=crs, transform=transform, extra=extra)


def _mixed_nodata(ds: Any) -> bool:
    """True when the bands have different nodata values (one value cannot describe them)."""
    return len({"nan" if v is not None and v != v else v for v in ds.nodatavals}) > 1


def _has_mask_band(ds: Any) -> bool:
    """A per-dataset mask band that the nodata and alpha rules do not already cover."""
    from rasterio.enums import MaskFlags

    flags = ds.mask_flag_enums[0] if ds.count else ()
    return MaskFlags.per_dataset in flags and MaskFlags.alpha not in flags


def _band_names(ds: Any) -> tuple[str, ...]:
    names = []
    for i, (desc, interp) in enumerate(zip(ds.descriptions, ds.colorinterp, strict=True)):
        if desc:
            names.append(str(desc))
        elif interp.name not in ("undefined", "gray", "grey") or ds.count == 1:
            names.append(interp.name)
        else:
            names.append(f"band {i + 1}")
    return tuple(names)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence rasterio's NotGeoreferencedWarning for plain rasters."""
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        yield
