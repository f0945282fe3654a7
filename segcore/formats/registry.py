"""The export/import formats by name; each carries its writer, reader and traits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from segcore.errors import FormatError
from segcore.formats.base import Imported
from segcore.formats.export import ExportOptions, Writer

Kind = Literal["semantic", "instances", "panoptic", "dataset", "vector"]
# What survives export -> import: "exact" both layers (instance ids renumbered 1..n
# in id order), "classes" the class layer only, "outline" polygon approximations.
Fidelity = Literal["exact", "classes", "outline"]


@dataclass(frozen=True)
class Format:
    """A registered format. ``reader(path, **context)`` imports; ``writer(options)`` exports."""

    name: str
    description: str
    kind: Kind
    fidelity: Fidelity
    writer: Callable[[ExportOptions], Writer]
    reader: Callable[..., Imported]
    needs: tuple[str, ...] = ()  # reader keywords that are required (e.g. width, height)


_FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> None:
    if fmt.name in _FORMATS:
        raise FormatError(f"format {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt


def get_format(name: str) -> Format:
    if not _FORMATS:
        _register_builtin()
    try:
        return _FORMATS[name]
    except KeyError:
        raise FormatError(
            f"unknown format {name!r}; choose one of: {', '.join(sorted(_FORMATS))}"
        ) from None


def list_formats() -> list[Format]:
    if not _FORMATS:
        _register_builtin()
    return list(_FORMATS.values())


def _register_builtin() -> None:
    from segcore.formats import (
        cityscapes,
        coco,
        geotiff,
        instance_ids,
        labelme,
        panoptic,
        semantic,
        vector,
        voc,
        yolo,
    )

    def fmt(name: str, desc: str, kind: Kind, fid: Fidelity, w: Any, r: Any, *needs: str) -> None:
        register(Format(name, desc, kind, fid, w, r, needs))

    fmt("png", "indexed PNG class masks, class palette", "semantic", "classes",
        semantic.PngClassWriter, semantic.read_png_masks)  # fmt: skip
    fmt("png16", "16-bit PNG class masks", "semantic", "classes",
        semantic.Png16ClassWriter, semantic.read_png_masks)  # fmt: skip
    fmt("npy", "NumPy .npy class masks", "semantic", "classes",
        semantic.NpyClassWriter, semantic.read_npy_masks)  # fmt: skip
    fmt("geotiff", "GeoTIFF class masks with CRS and transform", "semantic", "classes",
        geotiff.GeoTiffClassWriter, geotiff.read_geotiff_masks)  # fmt: skip
    fmt("instance-png", "class PNG + 16-bit instance-id PNG", "instances", "exact",
        instance_ids.InstancePngWriter, instance_ids.read_instance_rasters)  # fmt: skip
    fmt("instance-tiff", "class PNG + 32-bit instance-id TIFF", "instances", "exact",
        instance_ids.InstanceTiffWriter, instance_ids.read_instance_rasters)  # fmt: skip
    fmt("coco", "COCO instances JSON, RLE masks", "instances", "exact",
        coco.CocoWriter, coco.read_coco)  # fmt: skip
    fmt("coco-polygons", "COCO instances JSON, polygons", "instances", "outline",
        coco.CocoPolygonWriter, coco.read_coco)  # fmt: skip
    fmt("coco-panoptic", "COCO panoptic PNG + segments_info JSON", "panoptic", "exact",
        panoptic.PanopticWriter, panoptic.read_panoptic)  # fmt: skip
    fmt("voc", "Pascal VOC SegmentationClass/SegmentationObject", "dataset", "exact",
        voc.VocWriter, voc.read_voc)  # fmt: skip
    fmt("cityscapes", "Cityscapes gtFine labelIds/instanceIds", "dataset", "exact",
        cityscapes.CityscapesWriter, cityscapes.read_cityscapes)  # fmt: skip
    fmt("labelme", "labelme JSON polygons", "dataset", "outline",
        labelme.LabelmeWriter, labelme.read_labelme)  # fmt: skip
    fmt("yolo", "YOLO segmentation .txt polygons", "dataset", "outline",
        yolo.YoloWriter, yolo.read_yolo)  # fmt: skip
    fmt("geojson", "GeoJSON polygons in the image CRS", "vector", "exact",
        vector.VectorWriter, vector.read_vector, "width", "height")  # fmt: skip
    fmt("gpkg", "GeoPackage polygons in the image CRS", "vector", "exact",
        vector.GpkgWriter, vector.read_vector, "width", "height")  # fmt: skip


def import_labels(name: str, path: Path, **context: Any) -> Imported:
    """Import ``path`` in format ``name``; ``context`` passes reader keywords
    (``images_dir``, ``width``/``height``/``transform``/``crs`` for vectors)."""
    fmt = get_format(name)
    missing = [k for k in fmt.needs if context.get(k) is None]
    if missing:
        raise FormatError(f"importing {name} needs {', '.join(missing)} (the image's grid)")
    import inspect

    accepted = inspect.signature(fmt.reader).parameters
    kwargs = {k: v for k, v in context.items() if k in accepted and v is not None}
    return fmt.reader(Path(path), **kwargs)
