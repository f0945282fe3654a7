"""GeoTIFF class masks that keep the source image's CRS and transform.

Written with rasterio window by window: tiled 256 x 256, deflate, class
colours as the colour map, class list in the ``TESSERA_CLASSES`` tag, 255 as
nodata. Files whose uncompressed size passes 2 GiB are BigTIFF.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError, LabelError
from segcore.files import final_of
from segcore.formats.base import ExportItem, Imported, Writer, safe_stem, write_class_file
from segcore.formats.problems import Problems, check_class_ids
from segcore.formats.registry import Format, register
from segcore.formats.semantic import import_masks
from segcore.formats.staging import Staging
from segcore.io.libtiff import quiet_libtiff
from segcore.io.readback import check_written, crc_of
from segcore.jobs import Job, Progress
from segcore.labels.box import windows
from segcore.labels.reader import Layer
from segcore.labels.schema import UNLABELLED, ClassInfo, palette

CLASS_TAG = "TESSERA_CLASSES"
BLOCK = 256
BIGTIFF_BYTES = 2**31


def profile_for(item: ExportItem, dtype: str, count: int = 1) -> dict[str, Any]:
    """rasterio creation options for a tiled, deflated, georeferenced TIFF of ``item``."""
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    width, height = item.labels.width, item.labels.height
    size = width * height * count * np.dtype(dtype).itemsize
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "BIGTIFF": "YES" if size > BIGTIFF_BYTES else "IF_SAFER",
    }
    if item.crs is not None:
        try:
            profile["crs"] = CRS.from_user_input(item.crs)
        except CRSError as exc:
            raise FormatError(f"{item.name}: cannot use CRS {item.crs!r}: {exc}") from exc
    if item.transform is not None:
        profile["transform"] = Affine(*item.transform)
    return profile


def write_windows(
    item: ExportItem, path: Path, layer: Layer, profile: dict[str, Any], window: int
) -> Job[None]:
    """Copy one label layer into a new TIFF at ``path``, window by window."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.windows import Window

    labels = item.labels
    width, height = labels.width, labels.height
    step = max(BLOCK, window // BLOCK * BLOCK)  # whole blocks per write
    quiet_libtiff()  # a failed write is found by the read-back, not printed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path, "w", **profile) as dst:
                if layer == "semantic":
                    dst.write_colormap(1, dict(enumerate(palette(labels.classes))))
                    dst.update_tags(
                        **{CLASS_TAG: json.dumps([c.to_json() for c in labels.classes])}
                    )
                done, crc = 0, 0
                for x, y, w, h in windows(width, height, step):
                    data = labels.read(layer, x, y, w, h).astype(profile["dtype"])
                    dst.write(data, 1, window=Window(x, y, w, h))
                    crc = crc_of(data, crc)
                    done += w * h
                    yield Progress(done, width * height)
        boxes = [(b.x, b.y, b.w, b.h) for b in windows(width, height, step)]
        check_written(path, boxes, crc)  # GDAL only logs a failed write at close
    except RasterioError as exc:
        raise FormatError(f"{final_of(path)}: cannot write the TIFF: {exc}") from exc
    except OSError as exc:
        raise FormatError(f"{final_of(path)}: writing the TIFF failed: {exc}") from exc


class GeoTiffClassWriter(Writer):
    """``<name>.tif``: uint8 class ids, georeferenced like the source image."""

    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{safe_stem(item.name)}.tif"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        path = staging.path(self.outputs(item)[0])
        profile = profile_for(item, "uint8")
        profile["nodata"] = UNLABELLED
        yield from write_windows(item, path, "semantic", profile, self.options.window)

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


def read_tiff_band(file: Path) -> NDArray[np.generic]:
    """Band 1 of a TIFF through rasterio."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(file) as src:
            return np.asarray(src.read(1))


def tiff_classes(file: Path) -> list[ClassInfo] | None:
    """The class list stored in a GeoTIFF's tags by :class:`GeoTiffClassWriter`."""
    import rasterio

    with rasterio.open(file) as src:
        text = src.tags().get(CLASS_TAG)
    if text is None:
        return None
    try:
        return [ClassInfo.from_json(c) for c in json.loads(text)]
    except (json.JSONDecodeError, TypeError, LabelError) as exc:
        raise FormatError(f"{file}: bad {CLASS_TAG} tag: {exc}") from exc


def read_geotiff_masks(path: Path) -> Imported:
    """Import GeoTIFF class masks from a file or folder.

    Class names come from ``classes.json`` or, failing that, the first file's tag.
    """
    imported = import_masks(path, (".tif", ".tiff"), read_tiff_band)
    has_file = (path if path.is_dir() else path.parent).joinpath("classes.json").exists()
    if not has_file and imported.images:
        first = path if path.is_file() else path / f"{imported.images[0].name}.tif"
        if first.exists():
            tagged = tiff_classes(first)
            if tagged is not None:
                problems = Problems()
                for image in imported.images:
                    check_class_ids(image.classes, tagged, image.name, problems)
                problems.raise_if_any(str(path))
                imported.classes = tagged
    return imported


register(
    Format(
        "geotiff",
        "GeoTIFF class masks with CRS and transform",
        kind="semantic",
        fidelity="classes",
        writer=GeoTiffClassWriter,
        reader=read_geotiff_masks,
    )
)
