"""The per-object table of an instance job: CSV rows and GeoPackage polygons.

Both are written under a temporary name beside the target and renamed with the
job's other outputs once all are whole (deleted when it fails or is closed).
Rows are written as tiles finish, so the table never sits in memory. Polygons
are traced from the owning tile's view of each object (it sees the whole object) with rasterio's
``features.shapes`` and put in map coordinates with the image's transform.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from segcore.engine.stitch import ObjectRow, Owned
from segcore.errors import InferenceError
from segcore.files import part_path
from segcore.labels.schema import ClassInfo

FIELDS = ("id", "class_id", "class", "score", "area", "x", "y", "w", "h")
TABLE_SUFFIXES = (".csv",)
POLYGON_SUFFIXES = (".gpkg",)

Transform = tuple[float, float, float, float, float, float]


def check_table(path: Path, suffixes: tuple[str, ...]) -> Path:
    """``path`` if its suffix is one of ``suffixes`` and its folder exists."""
    if path.suffix.lower() not in suffixes:
        raise InferenceError(f"{path}: use a {' or '.join(suffixes)} file for this output")
    if not path.parent.is_dir():
        raise InferenceError(f"{path}: the folder {path.parent} does not exist; create it first")
    return path


class TableWriter:
    """Object rows as CSV: ``id, class_id, class, score, area, x, y, w, h``."""

    def __init__(self, final: Path, classes: Sequence[ClassInfo]) -> None:
        self.final, self.temp = check_table(final, TABLE_SUFFIXES), part_path(final)
        self._names = {c.id: c.name for c in classes}
        self._file: IO[str] | None = self.temp.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(FIELDS)

    def write(self, rows: Sequence[ObjectRow]) -> None:
        for r in rows:
            name = self._names.get(r.class_id, str(r.class_id))
            self._csv.writerow((r.id, r.class_id, name, f"{r.score:.4f}", r.area, *r.bbox))

    def finish(self) -> tuple[Path, Path]:
        """Close the table; (temporary, final) names for :func:`segcore.files.publish`."""
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        return self.temp, self.final

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.temp.unlink(missing_ok=True)


class PolygonWriter:
    """Object outlines as a GeoPackage layer ``objects`` (fields as the CSV's)."""

    def __init__(
        self,
        final: Path,
        classes: Sequence[ClassInfo],
        *,
        crs: str | None,
        transform: Transform | None,
    ) -> None:
        self.final, self.temp = check_table(final, POLYGON_SUFFIXES), part_path(final)
        self._names = {c.id: c.name for c in classes}
        self._crs, self._transform = crs, transform or (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
        self._started = False

    def write(self, owned: Owned) -> None:
        """Trace the owned objects of one tile and append them."""
        if not owned.rows:
            return
        geoms = [self._polygon(owned, r.id) for r in owned.rows]
        self._append(owned.rows, geoms)

    def _polygon(self, owned: Owned, object_id: int) -> bytes:
        from affine import Affine
        from rasterio import features
        from shapely import geometry, to_wkb
        from shapely.ops import unary_union

        label = int(np.flatnonzero(owned.ids == object_id)[0])
        ys, xs = np.nonzero(owned.labels == label)
        y0, x0 = int(ys.min()), int(xs.min())
        crop = owned.labels[y0 : ys.max() + 1, x0 : xs.max() + 1] == label
        a, b, c, d, e, f = self._transform
        x, y = owned.window.x + x0, owned.window.y + y0
        shift = Affine(a, b, a * x + b * y + c, d, e, d * x + e * y + f)
        parts = [
            geometry.shape(g)
            for g, v in features.shapes(crop.astype(np.uint8), mask=crop, transform=shift)
            if v
        ]
        return bytes(to_wkb(unary_union(parts)))

    def _append(self, rows: Sequence[ObjectRow], geoms: list[bytes]) -> None:
        from pyogrio.raw import write

        columns: list[Any] = [
            np.array([r.id for r in rows], np.int64),
            np.array([r.class_id for r in rows], np.int64),
            np.array([self._names.get(r.class_id, str(r.class_id)) for r in rows], object),
            np.array([r.score for r in rows], np.float64),
            np.array([r.area for r in rows], np.int64),
            *(np.array([r.bbox[i] for r in rows], np.int64) for i in range(4)),
        ]
        write(
            str(self.temp),
            np.array(geoms, object),
            columns,
            list(FIELDS),
            layer="objects",
            driver="GPKG",
            geometry_type="MultiPolygon",
            promote_to_multi=True,
            crs=self._crs,
            append=self._started,
        )
        self._started = True

    def finish(self) -> tuple[Path, Path]:
        """(temporary, final) names for :func:`segcore.files.publish`."""
        if not self._started:  # no objects: an empty layer, so the file still exists
            self._append([], [])
        return self.temp, self.final

    def abort(self) -> None:
        self.temp.unlink(missing_ok=True)
