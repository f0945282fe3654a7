"""COCO panoptic: ``panoptic/<name>.png`` (id = R + 256 G + 256^2 B) + ``panoptic.json``.

Every segment gets an id 1..n per image (0 = void, our unlabelled). Objects
are thing segments; each stuff class is one segment; thing pixels without an
instance become an ``iscrowd`` segment. The PNG is written strip by strip
after one scan for the segments' boxes and areas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError
from segcore.formats.base import ExportItem, Imported, LabelImage, safe_stem
from segcore.formats.coco_common import CocoJsonWriter, read_coco_json, thing_ids
from segcore.formats.png import PngWriter, read_png
from segcore.formats.problems import Problems
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress
from segcore.labels.box import strips
from segcore.labels.segments import unique_inverse

JSON_NAME = "panoptic.json"
PNG_DIR = "panoptic"
MAX_SEGMENTS = 256**3 - 1


def id_to_rgb(ids: NDArray[np.integer[Any]]) -> NDArray[np.uint8]:
    """Segment ids as RGB (id = R + 256 G + 256^2 B)."""
    ids = ids.astype(np.uint32)
    return np.stack([ids & 0xFF, (ids >> 8) & 0xFF, (ids >> 16) & 0xFF], axis=-1).astype(np.uint8)


def rgb_to_id(rgb: NDArray[np.uint8]) -> NDArray[np.uint32]:
    rgb = rgb.astype(np.uint32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


class PanopticWriter(CocoJsonWriter):
    """Panoptic PNGs and the ``segments_info`` JSON."""

    json_name = JSON_NAME

    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{PNG_DIR}/{safe_stem(item.name)}.png"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels = item.labels
        width, height = labels.width, labels.height
        stem = safe_stem(item.name)
        image_id, segments = yield from self.scan(item)
        things = thing_ids(labels.classes)
        total = 2 * width * height
        if len(segments) > MAX_SEGMENTS:
            raise FormatError(f"{item.name}: {len(segments)} segments do not fit 24-bit ids")
        seg_id = {(s.instance, s.class_id): k + 1 for k, s in enumerate(segments)}
        info = [
            {
                "id": k + 1,
                "category_id": s.class_id + 1,
                "iscrowd": int(s.instance == 0 and s.class_id in things),
                "area": s.area,
                "bbox": s.bbox,
            }
            for k, s in enumerate(segments)
        ]
        png_name = f"{stem}.png"
        path = staging.path(self.outputs(item)[0])
        with PngWriter(path, width, height, mode="RGB") as png:
            for x, y, w, h in strips(width, height, self.options.strip_rows(width)):
                classes = labels.read("semantic", x, y, w, h).astype(np.uint64)
                instances = labels.read("instance", x, y, w, h).astype(np.uint64)
                keys = (instances << np.uint64(8)) | classes
                unique, inverse = unique_inverse(keys)
                lookup = np.array(
                    [seg_id.get((int(k) >> 8, int(k) & 0xFF), 0) for k in unique], np.uint32
                )
                png.write_rows(id_to_rgb(lookup[inverse]))
                yield Progress(width * height + (y + h) * width, total)
        self.annotations.append(
            {"image_id": image_id, "file_name": png_name, "segments_info": info}
        )


def read_panoptic(
    path: Path, *, png_dir: Path | None = None, images_dir: Path | None = None
) -> Imported:
    """Import COCO panoptic: the JSON at ``path`` and its PNG folder.

    The PNG folder is ``png_dir`` or, by COCO's layout, the folder named like
    the JSON next to it. All problems (unknown segments or categories, missing
    or wrongly sized PNGs) are reported together.
    """
    problems = Problems()
    coco = read_coco_json(
        path, JSON_NAME, kind="COCO panoptic", images_dir=images_dir, problems=problems
    )
    path, images = coco.path, coco.images
    folder = png_dir or path.with_suffix("")
    out: list[LabelImage] = []
    for k, ann in enumerate(coco.annotations):
        try:
            image_id, png_name = int(ann["image_id"]), str(ann["file_name"])
            segments = list(ann["segments_info"])
        except (KeyError, TypeError, ValueError, OverflowError):
            problems.add(path, f"annotation #{k} needs 'image_id', 'file_name', 'segments_info'")
            continue
        if image_id in coco.refused:
            continue  # its image entry is reported already
        if image_id not in images:
            problems.add(path, f"annotation #{k} refers to unknown image id {image_id}")
            continue
        image = _read_one(folder / png_name, images[image_id], segments, coco.by_cat, problems)
        if image is not None:
            out.append(image)
    problems.raise_if_any(str(path))
    return Imported(coco.classes, out)


def _read_one(
    png: Path,
    entry: dict[str, Any],
    segments: list[Any],
    by_cat: dict[int, Any],
    problems: Problems,
) -> LabelImage | None:
    try:
        pixels, mode = read_png(png)
    except Exception as exc:  # noqa: BLE001 - a missing or corrupt PNG is a problem line
        problems.add(png, f"cannot read: {exc}")
        return None
    height, width = entry["height"], entry["width"]
    if mode != "RGB" or pixels.shape != (height, width, 3):
        problems.add(png, f"expected an RGB PNG of {width} x {height}, got {mode} {pixels.shape}")
        return None
    ids = rgb_to_id(pixels.astype(np.uint8))
    image = LabelImage.empty(Path(entry["file_name"]).stem, height, width)
    unique, inverse = unique_inverse(ids)
    inverse = inverse.reshape(ids.shape)
    index = {int(v): k for k, v in enumerate(unique)}
    class_of = np.full(len(unique), 255, np.uint8)
    inst_of = np.zeros(len(unique), np.uint32)
    listed: set[int] = set()
    next_id = 1
    for seg in segments:
        try:
            sid, cat = int(seg["id"]), int(seg["category_id"])
        except (KeyError, TypeError, ValueError, OverflowError):
            problems.add(png, f"bad segments_info entry {seg!r:.80}")
            continue
        listed.add(sid)
        if cat not in by_cat:
            problems.add(png, f"segment {sid} has unknown category id {cat}")
        elif sid not in index:
            problems.add(png, f"segment {sid} is listed in segments_info but not in the PNG")
        else:
            cls = by_cat[cat]
            class_of[index[sid]] = cls.id
            if cls.thing and not seg.get("iscrowd", 0):
                inst_of[index[sid]] = next_id
                next_id += 1
    unlisted = sorted(set(index) - listed - {0})
    if unlisted:
        problems.add(png, f"segment ids {unlisted[:10]} are in the PNG but not in segments_info")
        return None
    image.classes = class_of[inverse]
    image.instances = inst_of[inverse]
    return image


register(
    Format(
        "coco-panoptic",
        "COCO panoptic PNG + segments_info JSON",
        kind="panoptic",
        fidelity="exact",
        writer=PanopticWriter,
        reader=read_panoptic,
    )
)
