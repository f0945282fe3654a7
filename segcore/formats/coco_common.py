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
from segcore.formats.checks import integer, size
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

    def dataset_outputs(self) -> list[str]:
        return [self.json_name]

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
    refused: set[int]  # ids of images whose entry has a problem (already reported)


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
    refused: set[int] = set()
    images = parse_images(data.get("images"), path, problems, refused)
    check_image_files(images, images_dir, problems)
    anns = data.get("annotations")
    if not isinstance(anns, list):
        problems.add(path, "no 'annotations' list")
        anns = []
    return CocoJson(path, classes, by_cat, images, anns, refused)


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
        cat_id = integer(cat.get("id")) if isinstance(cat, dict) else None
        name = cat.get("name") if isinstance(cat, dict) else None
        if cat_id is None or not isinstance(name, str | int) or isinstance(name, bool):
            problems.add(file, f"category #{k} needs an integer 'id' and a 'name': {cat!r:.80}")
            continue
        raw.append((cat_id, str(name), bool(cat.get("isthing", 1)), cat))
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
        values = [integer(v) for v in color] if isinstance(color, list) else []
        ok = [v for v in values if v is not None and 0 <= v <= 255]
        # a colour is cosmetic: a bad one is replaced, not a reason to refuse the file
        rgb = (ok[0], ok[1], ok[2]) if len(ok) == len(values) == 3 else default_color(class_id)
        info = ClassInfo(class_id, name, rgb, thing)
        classes.append(info)
        by_cat[cat_id] = info
    return classes, by_cat


def parse_images(
    data: Any, file: Path, problems: Problems, refused: set[int] | None = None
) -> dict[int, dict[str, Any]]:
    """COCO ``images`` by id, each with ``file_name``, ``width``, ``height``.

    Ids of entries with a bad size go to ``refused``, so that their annotations
    are not reported a second time as referring to an unknown image.
    """
    if not isinstance(data, list):
        problems.add(file, "no 'images' list")
        return {}
    images: dict[int, dict[str, Any]] = {}
    for k, img in enumerate(data):
        image_id = integer(img.get("id")) if isinstance(img, dict) else None
        name = img.get("file_name") if isinstance(img, dict) else None
        if image_id is None or not isinstance(name, str) or not name:
            problems.add(
                file, f"image #{k} needs 'id', 'file_name', 'width' and 'height': {img!r:.80}"
            )
            continue
        where = f"{file} image {image_id} ({name[:80]})"
        width = size(img.get("width"), where, "width", problems)
        height = size(img.get("height"), where, "height", problems)
        if width is not None and height is not None:
            images[image_id] = {"file_name": name, "width": width, "height": height}
        elif refused is not None:
            refused.add(image_id)
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
