"""Cityscapes ``*_gtFine_labelIds.png`` (8-bit) and ``*_gtFine_instanceIds.png`` (16-bit).

Instance PNG values are ``class * 1000 + k`` for the k-th object (k from 0)
of a thing class, and the plain class id elsewhere, as Cityscapes does. So
things need class ids 1..65 (0 would read as "no instance"; 66 * 1000 passes
16 bits) and at most 1000 objects per class and image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segcore.errors import FormatError
from segcore.formats.base import (
    ExportItem,
    Imported,
    LabelImage,
    Writer,
    safe_stem,
    write_class_file,
)
from segcore.formats.png import PngWriter, read_png
from segcore.formats.problems import Problems, check_class_ids, read_class_file
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress, scaled
from segcore.labels.box import strips
from segcore.labels.schema import ClassInfo, default_color
from segcore.labels.segments import scan_segments

LABEL_SUFFIX = "_gtFine_labelIds.png"
INSTANCE_SUFFIX = "_gtFine_instanceIds.png"
# The Cityscapes label ids (facts from the dataset's definition); 24..33 have instances.
CITYSCAPES_NAMES = [
    "unlabeled",
    "ego vehicle",
    "rectification border",
    "out of roi",
    "static",
    "dynamic",
    "ground",
    "road",
    "sidewalk",
    "parking",
    "rail track",
    "building",
    "wall",
    "fence",
    "guard rail",
    "bridge",
    "tunnel",
    "pole",
    "polegroup",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "caravan",
    "trailer",
    "train",
    "motorcycle",
    "bicycle",
]


class CityscapesWriter(Writer):
    def outputs(self, item: ExportItem) -> list[str]:
        stem = safe_stem(item.name)
        return [f"{stem}{LABEL_SUFFIX}", f"{stem}{INSTANCE_SUFFIX}"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels = item.labels
        width, height = labels.width, labels.height
        total = 2 * width * height
        segments = yield from scaled(
            scan_segments(labels, self.options.window), 0, total // 2, total
        )
        # instance id -> class * 1000 + k, numbered per class in id order
        code: dict[int, int] = {}
        per_class: dict[int, int] = {}
        for seg in segments:
            if not seg.instance:
                continue
            if seg.instance in code:
                raise FormatError(f"{item.name}: instance {seg.instance} spans several classes")
            if not 1 <= seg.class_id <= 65:
                raise FormatError(
                    f"{item.name}: Cityscapes can encode objects of class ids 1..65 only, "
                    f"not {seg.class_id}; renumber the classes or use another format"
                )
            k = per_class.get(seg.class_id, 0)
            if k >= 1000:
                raise FormatError(f"{item.name}: more than 1000 objects of class {seg.class_id}")
            code[seg.instance] = seg.class_id * 1000 + k
            per_class[seg.class_id] = k + 1
        ids = np.array(sorted(code), np.uint32)
        codes = np.array([code[i] for i in ids.tolist()], np.uint16)
        label_path, inst_path = (staging.path(name) for name in self.outputs(item))
        with (
            PngWriter(label_path, width, height, mode="L") as label_png,
            PngWriter(inst_path, width, height, mode="L16") as inst_png,
        ):
            for x, y, w, h in strips(width, height, self.options.strip_rows(width)):
                classes = labels.read("semantic", x, y, w, h)
                instances = labels.read("instance", x, y, w, h)
                values = classes.astype(np.uint16)
                has = instances > 0
                if len(ids):
                    values[has] = codes[np.searchsorted(ids, instances[has])]
                label_png.write_rows(classes)
                inst_png.write_rows(values)
                yield Progress(width * height + (y + h) * width, total)

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


def read_cityscapes(path: Path) -> Imported:
    """Import every ``*_gtFine_labelIds.png`` under ``path`` (with its instance PNG)."""
    problems = Problems()
    classes = read_class_file(path, problems)
    files = sorted(path.rglob(f"*{LABEL_SUFFIX}")) if path.is_dir() else [path]
    if not files:
        problems.add(path, f"no *{LABEL_SUFFIX} files found")
    known = classes or [
        ClassInfo(i, n, default_color(i), i >= 24) for i, n in enumerate(CITYSCAPES_NAMES)
    ]
    images: list[LabelImage] = []
    for file in files:
        name = file.name[: -len(LABEL_SUFFIX)]
        try:
            class_map = read_png(file)[0]
        except FormatError as exc:
            problems.add(file, str(exc))
            continue
        check_class_ids(class_map, known, file, problems)
        image = LabelImage.empty(name, *class_map.shape[:2])
        image.classes = class_map.astype(np.uint8)
        inst_file = file.with_name(f"{name}{INSTANCE_SUFFIX}")
        if inst_file.exists():
            try:
                values = np.asarray(read_png(inst_file)[0], dtype=np.int64)
            except FormatError as exc:
                problems.add(inst_file, str(exc))
                continue
            if values.shape != class_map.shape:
                problems.add(inst_file, f"size {values.shape} differs from {file.name}")
                continue
            objects = values >= 1000
            if (values[objects] // 1000 != class_map[objects]).any():
                problems.add(inst_file, "instance ids disagree with the class PNG")
                continue
            _, inverse = np.unique(values[objects], return_inverse=True)
            image.instances[objects] = (inverse.ravel() + 1).astype(np.uint32)
        images.append(image)
    problems.raise_if_any(str(path))
    return Imported(known, images)


register(
    Format(
        "cityscapes",
        "Cityscapes gtFine labelIds/instanceIds",
        kind="dataset",
        fidelity="exact",
        writer=CityscapesWriter,
        reader=read_cityscapes,
    )
)
