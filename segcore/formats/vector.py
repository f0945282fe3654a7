"""Vector polygons (GeoJSON, GeoPackage) in the raster's CRS.

Each window is vectorised with ``rasterio.features.shapes`` in pixel
coordinates (exact integers, so pieces from neighbouring windows meet
exactly), pieces of a segment are unioned with shapely, and the result is
mapped through the image's affine transform and written with pyogrio. One
feature per segment: ``class_id``, ``class_name``, ``instance_id``.
Outlines follow pixel edges, so rasterising them back gives the same pixels.

Importing rasterises onto the grid of the image the labels belong to
(:func:`image_grid`: its size, transform and CRS).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from segcore.errors import FormatError
from segcore.files import final_of
from segcore.formats.base import (
    ExportItem,
    Imported,
    LabelImage,
    Transform,
    Writer,
    safe_stem,
    write_class_file,
)
from segcore.formats.checks import MemoryBudget, check_json_limits, check_within, integer
from segcore.formats.problems import Problems, read_class_file
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress
from segcore.labels.box import windows
from segcore.labels.schema import MAX_CLASSES, UNLABELLED, ClassInfo, default_color
from segcore.labels.segments import unique_inverse

Driver = Literal["GeoJSON", "GPKG"]
IDENTITY: Transform = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


class VectorWriter(Writer):
    driver: Driver = "GeoJSON"
    suffix = ".geojson"

    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{safe_stem(item.name)}{self.suffix}"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        import pyogrio.raw
        import shapely
        from rasterio.crs import CRS
        from rasterio.features import shapes

        labels = item.labels
        width, height = labels.width, labels.height
        pieces: dict[tuple[int, int], list[Any]] = {}
        done = 0
        for x, y, w, h in windows(width, height, self.options.window):
            classes = labels.read("semantic", x, y, w, h).astype(np.uint64)
            instances = labels.read("instance", x, y, w, h).astype(np.uint64)
            keys = (instances << np.uint64(8)) | classes
            unique, inverse = unique_inverse(keys)
            index = inverse.astype(np.int32)
            valid = classes != UNLABELLED
            offset = (1.0, 0.0, float(x), 0.0, 1.0, float(y))
            for geom, value in shapes(index, mask=valid, connectivity=4, transform=offset):
                key = int(unique[int(value)])
                pieces.setdefault((key >> 8, key & 0xFF), []).append(shapely.geometry.shape(geom))
            done += w * h
            yield Progress(done, width * height)
        names = {c.id: c.name for c in labels.classes}
        a, b, c, d, e, f = item.transform or IDENTITY
        keys_sorted = sorted(pieces, key=lambda k: (k[0] == 0, k[0], k[1]))
        geoms = [
            shapely.affinity.affine_transform(shapely.union_all(pieces[k]), [a, b, d, e, c, f])
            for k in keys_sorted
        ]
        geoms = [
            shapely.geometry.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in geoms
        ]
        path = staging.path(self.outputs(item)[0])
        crs = CRS.from_user_input(item.crs).to_wkt() if item.crs else None
        try:
            pyogrio.raw.write(
                str(path),
                shapely.to_wkb(np.array(geoms, dtype=object)),
                [
                    np.array([k[1] for k in keys_sorted], np.int32),
                    np.array([names.get(k[1], f"class {k[1]}") for k in keys_sorted], object),
                    np.array([k[0] for k in keys_sorted], np.int64),
                ],
                ["class_id", "class_name", "instance_id"],
                driver=self.driver,
                geometry_type="MultiPolygon",
                crs=crs,
                layer=safe_stem(item.name),
            )
        except Exception as exc:
            raise FormatError(f"{final_of(path)}: cannot write {self.driver}: {exc}") from exc

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


class GpkgWriter(VectorWriter):
    driver: Driver = "GPKG"
    suffix = ".gpkg"


def image_grid(image: ImageSource | str | Path) -> dict[str, Any]:
    """The grid vector labels are rasterised onto: an image's (or an image file's)
    ``width``, ``height``, ``transform`` and ``crs``, as :func:`read_vector` keywords."""
    if isinstance(image, str | Path):
        from segcore.io.opener import open_image

        source = open_image(image)
        try:
            return image_grid(source)
        finally:
            source.close()
    meta = image.metadata
    transform = tuple(meta.transform) if meta.transform is not None else None
    return {"width": image.width, "height": image.height, "transform": transform, "crs": meta.crs}


def read_vector(
    path: Path,
    *,
    width: int,
    height: int,
    transform: Transform | None = None,
    crs: str | None = None,
) -> Imported:
    """Rasterise a GeoJSON/GeoPackage file (or a folder of them) onto a ``width`` x ``height`` grid.

    ``transform``/``crs`` describe the grid (the image the labels belong to);
    a file in another CRS is a problem. Features need ``class_name`` (or
    ``class_id``); ``instance_id`` > 0 makes a feature an object.
    """
    import pyogrio.raw

    problems = Problems()
    folder = path if path.is_dir() else path.parent
    files = (
        sorted(
            p
            for p in folder.iterdir()
            if p.suffix in {".geojson", ".gpkg", ".json"} and p.name != "classes.json"
        )
        if path.is_dir()
        else [path]
    )
    known = read_class_file(folder, problems)
    by_name = {c.name: c for c in known or []}
    images: list[LabelImage] = []
    budget = MemoryBudget()
    for file in files:
        try:
            if file.suffix.lower() in {".geojson", ".json"}:
                check_json_limits(file.read_bytes())  # before GDAL's parser sees it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GDAL's warnings; problems are listed below
                meta, _, geometry, fields = pyogrio.raw.read(str(file))
        except Exception as exc:  # noqa: BLE001 - any GDAL/OGR error is a problem line
            problems.add(file, f"cannot read: {exc}")
            continue
        if not budget.reserve(width, height, str(file), problems):
            continue
        image = _rasterise(
            file,
            meta,
            geometry,
            fields,
            by_name,
            known is None,
            problems,
            (width, height, transform, crs),
        )
        if image is not None:
            images.append(image)
    problems.raise_if_any(str(path))
    classes = known if known is not None else sorted(by_name.values(), key=lambda c: c.id)
    return Imported(classes, images)


def _rasterise(
    file: Path,
    meta: dict[str, Any],
    geometry: Any,
    fields: list[Any],
    by_name: dict[str, ClassInfo],
    add_classes: bool,
    problems: Problems,
    grid: tuple[int, int, Transform | None, str | None],
) -> LabelImage | None:
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.enums import MergeAlg
    from rasterio.features import rasterize

    width, height, transform, crs = grid
    image = LabelImage.empty(file.stem, height, width)
    if geometry is None or len(geometry) == 0:
        return image  # no features: nothing labelled
    columns = {name: values for name, values in zip(meta["fields"], fields, strict=True)}
    if crs is not None and meta.get("crs"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if CRS.from_user_input(meta["crs"]) != CRS.from_user_input(crs):
                problems.add(file, f"CRS {meta['crs']} differs from the image's {crs}")
                return None
    names = columns.get("class_name")
    if names is None:
        ids = columns.get("class_id")
        if ids is None:
            problems.add(file, "features need a 'class_name' or 'class_id' field")
            return None
        names = [f"class {i}" if (i := integer(v)) is not None else None for v in ids]
    instances = columns.get("instance_id", np.zeros(len(names), np.int64))
    inverse = ~Affine(*(transform or IDENTITY)[:6])
    matrix = [inverse.a, inverse.b, inverse.d, inverse.e, inverse.c, inverse.f]
    class_shapes: list[tuple[Any, int]] = []
    object_shapes: list[tuple[Any, int]] = []
    groups: dict[tuple[str, int], int] = {}
    checked = [
        _feature(f"{file} feature #{k}", wkb, name, inst, matrix, (width, height), problems)
        for k, (wkb, name, inst) in enumerate(zip(geometry, names, instances, strict=True))
    ]
    if any(c is None for c in checked):
        return None
    for k, item in enumerate(checked):
        assert item is not None
        geom, name, inst = item
        if name not in by_name:
            if not add_classes or len(by_name) >= MAX_CLASSES - 1:
                why = "too many classes" if add_classes else "unknown class"
                problems.add(f"{file} feature #{k}", f"{why} {name[:80]!r}")
                continue
            by_name[name] = ClassInfo(len(by_name), name, default_color(len(by_name)))
        cls = by_name[name]
        class_shapes.append((geom, cls.id))
        if inst > 0:
            number = groups.setdefault((name, inst), len(groups) + 1)
            object_shapes.append((geom, number))
            if add_classes and not cls.thing:
                by_name[name] = ClassInfo(cls.id, cls.name, cls.color, True)
    shape = (height, width)
    if class_shapes:
        image.classes = rasterize(class_shapes, out_shape=shape, fill=UNLABELLED, dtype=np.uint8)
    if object_shapes:
        image.instances = rasterize(object_shapes, out_shape=shape, fill=0, dtype=np.uint32)
        cover = rasterize(
            [(g, 1) for g, _ in object_shapes],
            out_shape=shape,
            fill=0,
            dtype=np.uint16,
            merge_alg=MergeAlg.add,
        )
        overlap = int((cover > 1).sum())
        if overlap:
            problems.add(file, f"objects overlap on {overlap} pixels")
            return None
    return image


def _feature(
    where: str,
    wkb: Any,
    name: Any,
    inst: Any,
    matrix: list[float],
    size: tuple[int, int],
    problems: Problems,
) -> tuple[Any, str, int] | None:
    """One feature's polygon in pixels, class name and instance id, checked."""
    import shapely

    if wkb is None:
        problems.add(where, "has no geometry ('geometry' is null)")
        return None
    if name is None or (isinstance(name, float) and not np.isfinite(name)):
        problems.add(where, "has no class ('class_name' or 'class_id' is empty)")
        return None
    number = 0 if inst is None else integer(inst.item() if hasattr(inst, "item") else inst)
    if number is None or number < 0:
        problems.add(where, f"'instance_id' must be a non-negative integer, got {inst!r:.40}")
        return None
    try:
        geom = shapely.from_wkb(wkb)
    except shapely.errors.ShapelyError as exc:
        problems.add(where, f"unreadable geometry: {exc}")
        return None
    if geom.geom_type not in {"Polygon", "MultiPolygon"}:
        problems.add(where, f"is a {geom.geom_type}; labels need Polygon or MultiPolygon areas")
        return None
    geom = shapely.affinity.affine_transform(geom, matrix)
    try:
        check_within(shapely.get_coordinates(geom), "'geometry'", width=size[0], height=size[1])
    except ValueError as exc:
        problems.add(where, str(exc) + " (in pixels of the image)")
        return None
    return geom, str(name), number


register(
    Format(
        "geojson",
        "GeoJSON polygons in the image CRS",
        kind="vector",
        fidelity="exact",
        writer=VectorWriter,
        reader=read_vector,
        needs=("width", "height"),
    )
)
register(
    Format(
        "gpkg",
        "GeoPackage polygons in the image CRS",
        kind="vector",
        fidelity="exact",
        writer=GpkgWriter,
        reader=read_vector,
        needs=("width", "height"),
    )
)
