"""labelme JSON: one file per image, one polygon shape per object or stuff region part.

Objects get their instance id as ``group_id`` (several shapes when an object
has several parts); stuff regions get one shape per connected part and no
group. On import, shapes are filled in file order (later on top, as labelme
draws them); two different objects covering the same pixels is a problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from segcore.formats.base import (
    ExportItem,
    Imported,
    LabelImage,
    Writer,
    safe_stem,
    write_class_file,
)
from segcore.formats.checks import MemoryBudget, coords, integer, size
from segcore.formats.polygons import fill_polygon, trace_outlines
from segcore.formats.problems import Problems, load_json, read_class_file
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.jobs import Job
from segcore.labels.schema import MAX_CLASSES, ClassInfo, default_color

LABELME_VERSION = "5.5.0"


class LabelmeWriter(Writer):
    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{safe_stem(item.name)}.json"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels = item.labels
        names = {c.id: c.name for c in labels.classes}
        outlines = yield from trace_outlines(
            labels, window=self.options.window, simplify=self.options.simplify
        )
        shapes: list[dict[str, Any]] = []
        for seg, polygons in outlines:
            for flat in polygons:
                points = [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]
                shapes.append(
                    {
                        "label": names.get(seg.class_id, f"class {seg.class_id}"),
                        "points": points,
                        "group_id": seg.instance or None,
                        "description": "",
                        "shape_type": "polygon",
                        "flags": {},
                    }
                )
        doc: dict[str, Any] = {
            "version": LABELME_VERSION,
            "flags": {},
            "shapes": shapes,
            "imagePath": item.file_name,
            "imageData": None,
            "imageHeight": labels.height,
            "imageWidth": labels.width,
        }
        path = staging.path(self.outputs(item)[0])
        path.write_text(json.dumps(doc, indent=1), encoding="utf-8")

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


def _points(shape: Any, width: int, height: int) -> list[tuple[float, float]]:
    """The polygon of a labelme shape, checked (``ValueError`` names the field)."""
    if not isinstance(shape, dict):
        raise ValueError("a shape must be an object")
    kind = shape.get("shape_type") or "polygon"
    if "points" not in shape:
        raise ValueError("'points' is missing")
    xy = coords(shape["points"], "'points'", width=width, height=height)
    pts = [(float(x), float(y)) for x, y in xy]
    if kind == "rectangle" and len(pts) == 2:
        (x0, y0), (x1, y1) = pts
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if kind == "polygon" and len(pts) >= 3:
        return pts
    raise ValueError(f"shape type {str(kind)[:40]!r} with {len(pts)} points is not supported")


def read_labelme(path: Path) -> Imported:
    """Import labelme JSON files (a file, or every ``*.json`` in a folder)."""
    problems = Problems()
    folder = path if path.is_dir() else path.parent
    files = sorted(p for p in folder.glob("*.json") if p.name != "classes.json")
    files = files if path.is_dir() else [path]
    known = read_class_file(folder, problems)
    by_name: dict[str, ClassInfo] = {c.name: c for c in known or []}
    docs: list[tuple[Path, dict[str, Any]]] = []
    for file in files:
        doc = load_json(file, problems)
        if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
            if doc is not None:
                problems.add(file, "not a labelme file: no 'shapes' list")
            continue
        docs.append((file, doc))
        if known is None:  # name classes in order of first appearance
            for shape in doc["shapes"]:
                name = str(shape.get("label", "")) if isinstance(shape, dict) else ""
                if name and name not in by_name and len(by_name) < MAX_CLASSES - 1:
                    by_name[name] = ClassInfo(len(by_name), name, default_color(len(by_name)))
    budget = MemoryBudget()
    images = [
        img for f, d in docs if (img := _read_doc(f, d, by_name, problems, budget)) is not None
    ]
    problems.raise_if_any(str(path))
    if known is None:  # a label used with group ids is a thing
        things = {
            str(s.get("label"))
            for _, d in docs
            for s in d["shapes"]
            if isinstance(s, dict) and s.get("group_id") is not None
        }
        known = [ClassInfo(c.id, c.name, c.color, c.name in things) for c in by_name.values()]
    return Imported(known, images)


def _read_doc(
    file: Path,
    doc: dict[str, Any],
    by_name: dict[str, ClassInfo],
    problems: Problems,
    budget: MemoryBudget,
) -> LabelImage | None:
    if "imageHeight" not in doc or "imageWidth" not in doc:
        problems.add(file, "needs integer 'imageHeight' and 'imageWidth'")
        return None
    height = size(doc["imageHeight"], str(file), "imageHeight", problems)
    width = size(doc["imageWidth"], str(file), "imageWidth", problems)
    if width is None or height is None or not budget.reserve(width, height, str(file), problems):
        return None
    shapes: list[tuple[int, str, list[tuple[float, float]], ClassInfo, Any]] = []
    for k, shape in enumerate(doc["shapes"]):
        where = f"{file} shape #{k}"
        try:
            points = _points(shape, width, height)
            name = shape.get("label")
            if not isinstance(name, str | int) or isinstance(name, bool):
                raise ValueError(f"'label' must be text, got {str(name)[:40]!r}")
            name = str(name)
            group = shape.get("group_id")
            if group is not None and integer(group) is None and not isinstance(group, str):
                raise ValueError(f"'group_id' must be an integer or null, got {str(group)[:40]!r}")
        except ValueError as exc:
            problems.add(where, f"bad shape: {exc}")
            continue
        cls = by_name.get(name)
        if cls is None:
            problems.add(where, f"unknown class {name!r}; not in classes.json")
            continue
        shapes.append((k, name, points, cls, group))
    image = _fill(file, width, height, shapes, problems)  # overlaps are problems too
    return image if len(shapes) == len(doc["shapes"]) else None


def _fill(
    file: Path,
    width: int,
    height: int,
    shapes: list[tuple[int, str, list[tuple[float, float]], ClassInfo, Any]],
    problems: Problems,
) -> LabelImage | None:
    """Paint checked shapes in file order; two objects on the same pixels is a problem."""
    image = LabelImage.empty(file.stem, height, width)
    owner = np.zeros((height, width), np.int32)  # 1 + index of the object group painted
    groups: dict[tuple[str, Any], int] = {}
    ok = True
    for k, name, points, cls, group in shapes:
        where = f"{file} shape #{k}"
        mask = fill_polygon(image.classes, points, cls.id)
        if group is None:
            image.instances[mask] = 0
            owner[mask] = 0
            continue
        key = (name, group)
        number = groups.setdefault(key, len(groups) + 1)
        others = owner[mask]
        if ((others > 0) & (others != number)).any():
            problems.add(where, f"object {name!r} group {group} overlaps another object")
            ok = False
        owner[mask] = number
        image.instances[mask] = number
    return image if ok else None


register(
    Format(
        "labelme",
        "labelme JSON polygons",
        kind="dataset",
        fidelity="outline",
        writer=LabelmeWriter,
        reader=read_labelme,
    )
)
