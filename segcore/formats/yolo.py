"""YOLO segmentation text: ``labels/<name>.txt``, one ``class x1 y1 x2 y2 ...`` line per polygon.

Coordinates are pixel centres divided by the image width and height. Class
names go to ``classes.txt`` (one per line, line number = class index) and
``classes.json``. YOLO files do not record the image size, so import reads it
from the image in ``images/`` with the same stem; a missing image is a problem.
Each line of a thing class becomes one object.
"""

from __future__ import annotations

from pathlib import Path

from segcore.formats.base import (
    CLASS_FILE,
    ExportItem,
    Imported,
    LabelImage,
    Writer,
    safe_stem,
    write_class_file,
)
from segcore.formats.checks import MemoryBudget
from segcore.formats.polygons import fill_polygon, trace_outlines
from segcore.formats.problems import Problems, read_class_file
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.jobs import Job
from segcore.labels.schema import MAX_CLASSES, ClassInfo, default_color

NAMES_FILE = "classes.txt"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


class YoloWriter(Writer):
    def outputs(self, item: ExportItem) -> list[str]:
        return [f"labels/{safe_stem(item.name)}.txt"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels = item.labels
        width, height = labels.width, labels.height
        outlines = yield from trace_outlines(
            labels, window=self.options.window, simplify=self.options.simplify
        )
        lines = []
        for seg, polygons in outlines:
            for flat in polygons:
                coords = [
                    f"{v / (width if i % 2 == 0 else height):.6f}" for i, v in enumerate(flat)
                ]
                lines.append(f"{seg.class_id} " + " ".join(coords))
        path = staging.path(self.outputs(item)[0])
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")

    def dataset_outputs(self) -> list[str]:
        return [NAMES_FILE, CLASS_FILE]

    def finish(self, staging: Staging) -> None:
        classes = self.classes or []
        by_id = {c.id: c.name for c in classes}
        top = max(by_id, default=-1)
        names = [by_id.get(i, f"unused {i}") for i in range(top + 1)]
        staging.path(NAMES_FILE).write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
        write_class_file(staging, self.classes)


def _image_size(images_dir: Path, stem: str) -> tuple[int, int] | None:
    from PIL import Image

    for suffix in IMAGE_SUFFIXES:
        candidate = images_dir / f"{stem}{suffix}"
        if candidate.exists():
            with Image.open(candidate) as image:
                return image.size
    return None


def read_yolo(
    path: Path,
    *,
    images_dir: Path | None = None,
    width: int | None = None,
    height: int | None = None,
) -> Imported:
    """Import a YOLO segmentation folder (``labels/``, ``images/``, ``classes.txt``).

    Image sizes come from the images in ``images_dir`` (default ``path/images``);
    ``width`` and ``height``, when given, are used for labels without an image.
    """
    problems = Problems()
    label_dir = path / "labels" if (path / "labels").is_dir() else path
    images_dir = images_dir or path / "images"
    classes = read_class_file(path, problems)
    if classes is None:
        names_file = path / "classes.txt"
        if names_file.exists():
            try:
                names = names_file.read_text(encoding="utf-8").splitlines()
            except (OSError, ValueError) as exc:
                problems.add(names_file, f"cannot read: {exc}")
                names = []
            if len(names) > MAX_CLASSES - 1:
                problems.add(names_file, f"{len(names)} class names; at most {MAX_CLASSES - 1}")
                names = []
            classes = [
                ClassInfo(i, n.strip(), default_color(i), True)
                for i, n in enumerate(names)
                if n.strip() and not n.startswith("unused ")
            ]
        else:
            problems.add(names_file, "no class names (classes.txt or classes.json)")
            classes = []
    by_id = {c.id: c for c in classes}
    files = sorted(label_dir.glob("*.txt"))
    if not files:
        problems.add(label_dir, "no .txt label files")
    images: list[LabelImage] = []
    budget = MemoryBudget()
    for file in files:
        try:
            size = _image_size(images_dir, file.stem)
            text = file.read_text(encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - any decoder error (PIL's bomb check too)
            problems.add(file, f"cannot read it or its image: {exc}")
            continue
        if size is None and width is not None and height is not None:
            size = (width, height)
        if size is None:
            problems.add(images_dir / file.stem, "image missing: YOLO labels need the image size")
            continue
        if not budget.reserve(size[0], size[1], str(file), problems):
            continue
        image = LabelImage.empty(file.stem, size[1], size[0])
        next_id = 1
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                values = line.split()
                if not values[0].isdigit() or len(values[0]) > 3:
                    raise ValueError(f"class index {values[0][:20]!r} is not a small integer")
                class_id = int(values[0])
                coords = [float(v) for v in values[1:] if len(v) <= 64]
                if len(coords) != len(values) - 1:
                    raise ValueError("a coordinate is more than 64 characters long")
                if len(coords) < 6 or len(coords) % 2:
                    raise ValueError("needs at least 3 x y pairs")
                if not all(0 <= c <= 1 for c in coords):  # False for NaN too
                    raise ValueError("coordinates must be normalised to 0..1")
            except (ValueError, IndexError) as exc:
                problems.add(f"{file}:{n}", f"bad line: {exc}")
                continue
            cls = by_id.get(class_id)
            if cls is None:
                problems.add(f"{file}:{n}", f"unknown class index {class_id}")
                continue
            points = [
                (coords[i] * size[0], coords[i + 1] * size[1]) for i in range(0, len(coords), 2)
            ]
            mask = fill_polygon(image.classes, points, cls.id)
            if cls.thing:
                image.instances[mask] = next_id
                next_id += 1
            else:
                image.instances[mask] = 0
        images.append(image)
    problems.raise_if_any(str(path))
    return Imported(classes, images)


register(
    Format(
        "yolo",
        "YOLO segmentation .txt polygons",
        kind="dataset",
        fidelity="outline",
        writer=YoloWriter,
        reader=read_yolo,
    )
)
