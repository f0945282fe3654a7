"""Pascal VOC segmentation: ``SegmentationClass/`` and ``SegmentationObject/`` PNGs.

Both are indexed PNGs with the VOC palette; 255 is void (our unlabelled).
Class PNGs hold class ids; object PNGs hold 1..n per image (objects in the
order of their instance ids), 0 for no object. ``labelmap.txt`` (CVAT's
``name:r,g,b::`` lines) names the classes, ``ImageSets/Segmentation/default.txt``
lists the images, and ``classes.json`` keeps our exact class ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segcore.errors import FormatError
from segcore.formats.base import (
    CLASS_FILE,
    ExportItem,
    ExportOptions,
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
from segcore.labels.schema import UNLABELLED, ClassInfo
from segcore.labels.segments import scan_segments

VOC_CLASSES = [
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]
CLASS_DIR, OBJECT_DIR = "SegmentationClass", "SegmentationObject"
LIST_FILE = "ImageSets/Segmentation/default.txt"
LABELMAP_FILE = "labelmap.txt"


def voc_palette() -> list[tuple[int, int, int]]:
    """The standard VOC colour map: bits of the index spread over R, G, B."""
    colours = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colours.append((r, g, b))
    return colours


class VocWriter(Writer):
    def __init__(self, options: ExportOptions) -> None:
        super().__init__(options)
        self.names: list[str] = []

    def outputs(self, item: ExportItem) -> list[str]:
        stem = safe_stem(item.name)
        return [f"{CLASS_DIR}/{stem}.png", f"{OBJECT_DIR}/{stem}.png"]

    def dataset_outputs(self) -> list[str]:
        return [LABELMAP_FILE, LIST_FILE, CLASS_FILE]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels = item.labels
        width, height = labels.width, labels.height
        stem = safe_stem(item.name)
        self.names.append(stem)
        total = 2 * width * height
        segments = yield from scaled(
            scan_segments(labels, self.options.window), 0, total // 2, total
        )
        ids = np.array(sorted({s.instance for s in segments if s.instance}), np.uint32)
        if len(ids) > 254:
            raise FormatError(
                f"{item.name}: {len(ids)} objects; VOC object PNGs hold at most 254 per image"
            )
        rows = self.options.strip_rows(width)
        class_path, object_path = (staging.path(name) for name in self.outputs(item))
        pal = voc_palette()
        with (
            PngWriter(class_path, width, height, mode="P", palette=pal) as class_png,
            PngWriter(object_path, width, height, mode="P", palette=pal) as object_png,
        ):
            for x, y, w, h in strips(width, height, rows):
                classes = labels.read("semantic", x, y, w, h)
                instances = labels.read("instance", x, y, w, h)
                objects = (np.searchsorted(ids, instances) + 1).astype(np.uint8)
                objects[instances == 0] = 0
                objects[classes == UNLABELLED] = UNLABELLED
                class_png.write_rows(classes)
                object_png.write_rows(objects)
                yield Progress(width * height + (y + h) * width, total)

    def finish(self, staging: Staging) -> None:
        classes = self.classes or []
        by_id = {c.id: c for c in classes}
        top = max(by_id, default=-1)
        lines = ["# label:color_rgb:parts:actions"]
        pal = voc_palette()
        for i in range(top + 1):
            name = by_id[i].name if i in by_id else f"unused {i}"
            r, g, b = pal[i]
            lines.append(f"{name}:{r},{g},{b}::")
        staging.path(LABELMAP_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        staging.path(LIST_FILE).write_text("\n".join(self.names) + "\n", encoding="utf-8")
        write_class_file(staging, self.classes)


def _labelmap_classes(path: Path, problems: Problems) -> list[ClassInfo] | None:
    file = path / "labelmap.txt"
    if not file.exists():
        return None
    pal = voc_palette()
    classes = []
    lines = [ln for ln in file.read_text(encoding="utf-8").splitlines() if ln and ln[0] != "#"]
    for i, line in enumerate(lines):
        name = line.split(":", 1)[0].strip()
        if not name:
            problems.add(file, f"line {i + 1} has no class name")
        elif not name.startswith("unused "):
            classes.append(ClassInfo(i, name, pal[i]))
    return classes


def read_voc(path: Path) -> Imported:
    """Import a VOC-style folder (``SegmentationClass``, optional ``SegmentationObject``)."""
    problems = Problems()
    class_dir = path / CLASS_DIR
    if not class_dir.is_dir():
        problems.add(class_dir, "folder not found; is this a Pascal VOC dataset?")
        problems.raise_if_any(str(path))
    classes = read_class_file(path, problems) or _labelmap_classes(path, problems)
    if classes is None:
        pal = voc_palette()
        classes = [ClassInfo(i, n, pal[i]) for i, n in enumerate(VOC_CLASSES)]
    names = sorted(p.stem for p in class_dir.glob("*.png"))
    listed = path / LIST_FILE
    if listed.exists():
        wanted = [n.strip() for n in listed.read_text(encoding="utf-8").splitlines() if n.strip()]
        for name in sorted(set(wanted) - set(names)):
            problems.add(class_dir / f"{name}.png", "listed in the image set but missing")
    jpeg_dir = path / "JPEGImages"
    images: list[LabelImage] = []
    object_classes: set[int] = set()
    for name in names:
        if jpeg_dir.is_dir() and not any(jpeg_dir.glob(f"{name}.*")):
            problems.add(jpeg_dir / f"{name}.jpg", "image missing for this mask")
        image = _read_pair(path, name, classes, problems)
        if image is not None:
            object_classes |= {int(v) for v in np.unique(image.classes[image.instances > 0])}
            images.append(image)
    problems.raise_if_any(str(path))
    has_flags = (path / "classes.json").exists()
    if not has_flags:  # VOC has no thing flag: a class with objects is a thing
        classes = [ClassInfo(c.id, c.name, c.color, c.id in object_classes) for c in classes]
    return Imported(classes, images)


def _read_pair(
    path: Path, name: str, classes: list[ClassInfo], problems: Problems
) -> LabelImage | None:
    class_file = path / CLASS_DIR / f"{name}.png"
    object_file = path / OBJECT_DIR / f"{name}.png"
    try:
        class_map, mode = read_png(class_file)
    except FormatError as exc:
        problems.add(class_file, str(exc))
        return None
    if mode not in {"P", "L"}:
        problems.add(class_file, f"expected an indexed PNG, got mode {mode}")
        return None
    check_class_ids(class_map, classes, class_file, problems)
    image = LabelImage.empty(name, *class_map.shape)
    image.classes = class_map.astype(np.uint8)
    if object_file.exists():
        try:
            objects, mode = read_png(object_file)
        except FormatError as exc:
            problems.add(object_file, str(exc))
            return None
        if objects.shape != class_map.shape:
            problems.add(object_file, f"size {objects.shape} differs from {class_file.name}")
            return None
        ids = objects.astype(np.uint32)
        ids[(objects == UNLABELLED) | (image.classes == UNLABELLED)] = 0
        image.instances = ids
    return image


register(
    Format(
        "voc",
        "Pascal VOC SegmentationClass/SegmentationObject",
        kind="dataset",
        fidelity="exact",
        writer=VocWriter,
        reader=read_voc,
    )
)
