"""Pieces shared by COCO instances and COCO panoptic: the writer base, categories, JSON checks.

Category ids are class id + 1 (many tools read category 0 as background).
On import, ids 1..255 map back to class id - 1; datasets with larger ids
(LVIS) get class ids in the order their categories are listed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from segcore.formats.base import ExportItem, ExportOptions, Writer
from segcore.formats.problems import Problems, load_json
from segcore.formats.staging import Staging
from segcore.jobs import Job, scaled
from segcore.labels.schema import MAX_CLASSES, ClassInfo, default_color
from segcore.labels.segments import Segment, scan_segments


class CocoJsonWriter(Writer):
    """Base of the COCO writers: gathers ``images`` and ``annotations``, writes one JSON."""

    json_name: ClassVar[str]

    def __init__(self, options: ExportOptions) -> None:
        super().__init__(options)
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []

    def scan(self, item: ExportItem) -> Job[tuple[int, list[Segment]]]:
        """List ``item`` in ``images`` and find its segments.

        The scan is the first half of the image's progress (``2 * width * height``
        in all). Returns the new image id and the segments.
        """
        labels = item.labels
        width, height = labels.width, labels.height
        image_id = len(self.images) + 1
        self.images.append(
            {"id": image_id, "file_name": item.file_name, "width": width, "height": height}
        )
        total = 2 * width * height
        segments = yield from scaled(
            scan_segments(labels, self.options.window), 0, total // 2, total
        )
        return image_id, segments

    def finish(self, staging: Staging) -> None:
        write_json(
            staging,
            self.json_name,
            {
                "info": {"description": "exported by Tessera"},
                "licenses": [],
                "images": self.images,
                "annotations": self.annotations,
                "categories": categories_json(self.classes or []),
            },
        )


def thing_ids(classes: Sequence[ClassInfo]) -> set[int]:
    """Ids of the thing classes (their pixels without an instance are a crowd)."""
    return {c.id for c in classes if c.thing}


@dataclass
class CocoJson:
    """A COCO JSON's path (the file, when given a folder) and its parsed lists."""

    path: Path
    classes: list[ClassInfo]
    by_cat: dict[int, ClassInfo]
    images: dict[int, dict[str, Any]]
    annotations: list[Any]


def read_coco_json(
    path: Path, json_name: str, *, kind: str, images_dir: Path | None, problems: Problems
) -> CocoJson:
    """Load ``path`` (or ``path / json_name`` for a folder) and parse its lists.

    Raises :class:`FormatError` at once when the file is unreadable or not a
    JSON object (``kind`` names the format in the message); other problems
    (bad categories or images, missing image files, no ``annotations`` list)
    go to ``problems``.
    """
    if path.is_dir():
        path = path / json_name
    data = load_json(path, problems)
    problems.raise_if_any(str(path))
    if not isinstance(data, dict):
        problems.add(path, f"not a {kind} file: the top level is not an object")
        problems.raise_if_any(str(path))
    classes, by_cat = parse_categories(data.get("categories"), path, problems)
    images = parse_images(data.get("images"), path, problems)
    check_image_files(images, images_dir, problems)
    anns = data.get("annotations")
    if not isinstance(anns, list):
        problems.add(path, "no 'annotations' list")
        anns = []
    return CocoJson(path, classes, by_cat, images, anns)


def categories_json(classes: list[ClassInfo]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id + 1,
            "name": c.name,
            "supercategory": "thing" if c.thing else "stuff",
            "isthing": int(c.thing),
            "color": list(c.color),
        }
        for c in classes
    ]


def write_json(staging: Staging, name: str, data: dict[str, Any]) -> None:
    path = staging.path(name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))


def parse_categories(
    data: Any, file: Path, problems: Problems
) -> tuple[list[ClassInfo], dict[int, ClassInfo]]:
    """Our classes for a COCO ``categories`` list, and category id -> class."""
    if not isinstance(data, list) or not data:
        problems.add(file, "no 'categories' list")
        return [], {}
    raw: list[tuple[int, str, bool, Any]] = []
    for k, cat in enumerate(data):
        try:
            raw.append((int(cat["id"]), str(cat["name"]), bool(cat.get("isthing", 1)), cat))
        except (KeyError, TypeError, ValueError):
            problems.add(file, f"category #{k} needs an integer 'id' and a 'name': {cat!r:.80}")
    ids = [r[0] for r in raw]
    if len(set(ids)) != len(ids):
        problems.add(file, "category ids are not unique")
    names = [r[1] for r in raw]
    if len(set(names)) != len(names):
        problems.add(file, "category names are not unique")
    if len(raw) > MAX_CLASSES - 1:
        problems.add(file, f"{len(raw)} categories; at most {MAX_CLASSES - 1} classes are possible")
        return [], {}
    keep_ids = all(1 <= i <= MAX_CLASSES - 1 for i in ids)
    classes: list[ClassInfo] = []
    by_cat: dict[int, ClassInfo] = {}
    for k, (cat_id, name, thing, cat) in enumerate(raw):
        class_id = cat_id - 1 if keep_ids else k
        color = cat.get("color")
        rgb = (
            (int(color[0]), int(color[1]), int(color[2]))
            if isinstance(color, list) and len(color) == 3
            else default_color(class_id)
        )
        info = ClassInfo(class_id, name, rgb, thing)
        classes.append(info)
        by_cat[cat_id] = info
    return classes, by_cat


def parse_images(data: Any, file: Path, problems: Problems) -> dict[int, dict[str, Any]]:
    """COCO ``images`` by id, each with ``file_name``, ``width``, ``height``."""
    if not isinstance(data, list):
        problems.add(file, "no 'images' list")
        return {}
    images: dict[int, dict[str, Any]] = {}
    for k, img in enumerate(data):
        try:
            entry = {
                "file_name": str(img["file_name"]),
                "width": int(img["width"]),
                "height": int(img["height"]),
            }
            images[int(img["id"])] = entry
        except (KeyError, TypeError, ValueError):
            problems.add(
                file, f"image #{k} needs 'id', 'file_name', 'width' and 'height': {img!r:.80}"
            )
    return images


def check_image_files(
    images: dict[int, dict[str, Any]], folder: Path | None, problems: Problems
) -> None:
    """Record every listed image that is missing from ``folder``."""
    if folder is None:
        return
    for img in images.values():
        if not (folder / img["file_name"]).exists():
            problems.add(folder / img["file_name"], "image listed in the dataset is missing")
