"""COCO instances JSON, masks as RLE (lossless) or polygons.

Export: one annotation per object (``iscrowd`` 0), one per stuff class region
(``iscrowd`` 0, category ``isthing`` 0, as COCO-Stuff does) and one per
thing-class region without instance ids (``iscrowd`` 1). Regions are always
RLE; objects are RLE or polygons. RLE export keeps both layers: import gives
back the class map, and the instance map with objects numbered 1..n in the
order of their ids. Import paints regions first and objects over them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from segcore.formats.base import ExportItem, Imported, LabelImage
from segcore.formats.checks import MemoryBudget, integer
from segcore.formats.coco_common import CocoJsonWriter, read_coco_json, thing_ids
from segcore.formats.cocomask import decode_segmentation
from segcore.formats.polygons import edge_polygons
from segcore.formats.problems import Problems
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress
from segcore.labels.schema import ClassInfo
from segcore.labels.segments import segment_mask, segment_rle

JSON_NAME = "annotations.json"


class CocoWriter(CocoJsonWriter):
    """``annotations.json`` with every image's segments."""

    json_name = JSON_NAME
    polygons = False

    def outputs(self, item: ExportItem) -> list[str]:
        return []  # every image goes into the one JSON of dataset_outputs

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels = item.labels
        image_id, segments = yield from self.scan(item)
        things = thing_ids(labels.classes)
        total = 2 * labels.width * labels.height
        done = total // 2
        for seg in segments:
            crowd = seg.instance == 0 and seg.class_id in things
            if self.polygons and seg.instance:  # regions stay RLE, as COCO(-Stuff) keeps them
                mask = segment_mask(labels, seg)
                simplify = self.options.simplify
                shape: Any = edge_polygons(mask, seg.x0, seg.y0, simplify=simplify)
            else:
                shape = segment_rle(labels, seg, self.options.window)
            self.annotations.append(
                {
                    "id": len(self.annotations) + 1,
                    "image_id": image_id,
                    "category_id": seg.class_id + 1,
                    "segmentation": shape,
                    "area": seg.area,
                    "bbox": seg.bbox,
                    "iscrowd": int(crowd),
                }
            )
            done += seg.area
            yield Progress(min(done, total), total)


class CocoPolygonWriter(CocoWriter):
    polygons = True


def read_coco(path: Path, *, images_dir: Path | None = None) -> Imported:
    """Import a COCO instances JSON (polygons or RLE) into class and instance maps.

    Every problem is collected first (malformed JSON or entries, unknown images
    or categories, masks sized unlike their image, overlapping masks, image
    files missing from ``images_dir``); any problem raises one
    :class:`FormatError` listing them all.
    """
    problems = Problems()
    coco = read_coco_json(path, JSON_NAME, kind="COCO", images_dir=images_dir, problems=problems)
    path, by_cat, images = coco.path, coco.by_cat, coco.images
    by_image: dict[int, list[tuple[str, int, dict[str, Any]]]] = {i: [] for i in images}
    for k, ann in enumerate(coco.annotations):
        ann_id = ann.get("id", f"#{k}") if isinstance(ann, dict) else f"#{k}"
        where = f"{path} annotation {str(ann_id)[:40]}"
        image_id = integer(ann.get("image_id")) if isinstance(ann, dict) else None
        cat_id = integer(ann.get("category_id")) if isinstance(ann, dict) else None
        if image_id is None or cat_id is None:
            problems.add(where, "needs integer 'image_id' and 'category_id'")
            continue
        if image_id in coco.refused:
            continue  # its image entry is reported already
        if image_id not in images:
            problems.add(where, f"refers to image id {image_id}, which is not in 'images'")
        elif cat_id not in by_cat:
            problems.add(where, f"unknown category id {cat_id}")
        else:
            by_image[image_id].append((where, cat_id, ann))
    out: list[LabelImage] = []
    budget = MemoryBudget()
    for image_id, entry in images.items():
        where = f"{path} image {image_id} ({entry['file_name']})"
        if not budget.reserve(entry["width"], entry["height"], where, problems):
            continue
        image = _rasterise(entry, by_image[image_id], by_cat, problems)
        if image is not None:
            out.append(image)
    problems.raise_if_any(str(path))
    return Imported(coco.classes, out)


def _rasterise(
    entry: dict[str, Any],
    anns: list[tuple[str, int, dict[str, Any]]],
    by_cat: dict[int, ClassInfo],
    problems: Problems,
) -> LabelImage | None:
    """One image's class and instance maps; overlaps and bad masks go to ``problems``."""
    height, width = entry["height"], entry["width"]
    image = LabelImage.empty(Path(entry["file_name"]).stem, height, width)

    def is_object(ann: dict[str, Any], cat_id: int) -> bool:
        return by_cat[cat_id].thing and not ann.get("iscrowd", 0)

    # regions (stuff, crowds) first, objects painted over them; overlaps are
    # checked among objects and among regions
    ordered = [a for a in anns if not is_object(a[2], a[1])] + [
        a for a in anns if is_object(a[2], a[1])
    ]
    owner = np.full((height, width), -1, np.int32)
    next_id = 1
    ok = True
    objects_start = len(ordered) - sum(is_object(a[2], a[1]) for a in anns)
    for k, (where, cat_id, ann) in enumerate(ordered):
        if k == objects_start:
            owner[:] = -1
        try:
            mask = decode_segmentation(ann.get("segmentation"), height, width)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            problems.add(where, f"bad segmentation for {entry['file_name']}: {exc}")
            ok = False
            continue
        clash = owner[mask]
        if (clash >= 0).any():
            other = ordered[int(clash[clash >= 0][0])][0].rsplit(" ", 1)[-1]
            problems.add(
                where,
                f"overlaps annotation {other} by {int((clash >= 0).sum())} pixels "
                f"in {entry['file_name']}",
            )
            ok = False
            continue
        owner[mask] = k
        cls = by_cat[cat_id]
        image.classes[mask] = cls.id
        if is_object(ann, cat_id):
            image.instances[mask] = next_id
            next_id += 1
        else:
            image.instances[mask] = 0
    return image if ok else None


register(
    Format(
        "coco",
        "COCO instances JSON, RLE masks",
        kind="instances",
        fidelity="exact",
        writer=CocoWriter,
        reader=read_coco,
    )
)
register(
    Format(
        "coco-polygons",
        "COCO instances JSON, polygons",
        kind="instances",
        fidelity="outline",
        writer=CocoPolygonWriter,
        reader=read_coco,
    )
)
