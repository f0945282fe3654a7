"""Instance-id rasters: ``instances/<name>.png`` (16-bit) or ``.tif`` (32-bit).

Each instance map comes with its class map, ``classes/<name>.png`` (indexed,
class palette), and ``classes.json``, so the pair round-trips both layers.
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
from segcore.formats.checks import MemoryBudget
from segcore.formats.geotiff import profile_for, read_tiff_band, write_windows
from segcore.formats.png import PngWriter, read_png
from segcore.formats.problems import Problems, check_class_ids, generic_classes, read_class_file
from segcore.formats.registry import Format, register
from segcore.formats.semantic import class_map_from, peek_size, write_class_png
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress
from segcore.labels.box import strips
from segcore.labels.schema import UNLABELLED

MAX_PNG_ID = 65535


class InstancePngWriter(Writer):
    """Class map + 16-bit instance-id PNG per image."""

    tiff = False

    def outputs(self, item: ExportItem) -> list[str]:
        stem = safe_stem(item.name)
        return [f"classes/{stem}.png", f"instances/{stem}.{'tif' if self.tiff else 'png'}"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        class_name, instance_name = self.outputs(item)
        total = 2 * item.labels.width * item.labels.height
        rows = self.options.strip_rows(item.labels.width)
        class_path = staging.path(class_name)
        for step in write_class_png(item.labels, class_path, rows=rows):
            yield Progress(step.done, total)
        offset = total // 2
        if self.tiff:
            path = staging.path(instance_name)
            profile = profile_for(item, "uint32")
            for step in write_windows(item, path, "instance", profile, self.options.window):
                yield Progress(offset + step.done, total)
            return
        labels = item.labels
        width, height = labels.width, labels.height
        path = staging.path(instance_name)
        with PngWriter(path, width, height, mode="L16") as png:
            for x, y, w, h in strips(width, height, self.options.strip_rows(width)):
                ids = labels.read("instance", x, y, w, h)
                if ids.size and int(ids.max()) > MAX_PNG_ID:
                    raise FormatError(
                        f"{item.name}: instance id {int(ids.max())} does not fit a 16-bit "
                        "PNG; export as instance-tiff"
                    )
                png.write_rows(ids)
                yield Progress(offset + (y + h) * width, total)

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


class InstanceTiffWriter(InstancePngWriter):
    tiff = True


def read_instance_rasters(path: Path) -> Imported:
    """Import a folder with ``classes/`` and ``instances/`` written by these writers."""
    problems = Problems()
    classes = read_class_file(path, problems)
    class_dir, inst_dir = path / "classes", path / "instances"
    for folder in (class_dir, inst_dir):
        if not folder.is_dir():
            problems.add(folder, "folder not found; expected classes/ and instances/")
    problems.raise_if_any(str(path))
    inst_files = {p.stem: p for p in inst_dir.iterdir() if p.suffix.lower() in {".png", ".tif"}}
    images: list[LabelImage] = []
    seen: set[int] = set()
    budget = MemoryBudget()
    for class_file in sorted(class_dir.glob("*.png")):
        inst_file = inst_files.pop(class_file.stem, None)
        if inst_file is None:
            problems.add(class_file, "no instance map with the same name in instances/")
            continue
        try:
            if not budget.reserve(*peek_size(inst_file), str(inst_file), problems):
                continue
            class_values = read_png(class_file)[0]
            ids = (
                read_png(inst_file)[0] if inst_file.suffix == ".png" else read_tiff_band(inst_file)
            )
        except Exception as exc:  # noqa: BLE001 - any decoder error is a problem line
            problems.add(inst_file, f"cannot read: {exc}")
            continue
        class_map = class_map_from(class_values, class_file, problems)
        if class_map.size == 0:
            continue
        if ids.shape != class_map.shape:
            problems.add(
                inst_file, f"size {ids.shape} differs from its class map {class_map.shape}"
            )
            continue
        if not np.issubdtype(ids.dtype, np.integer) or (ids.size and ids.min() < 0):
            problems.add(inst_file, "instance ids must be non-negative integers")
            continue
        if classes is not None:
            check_class_ids(class_map, classes, class_file, problems)
        seen |= {int(v) for v in np.unique(class_map)} - {UNLABELLED}
        images.append(LabelImage(class_file.stem, class_map, ids.astype(np.uint32)))
    for stem, orphan in inst_files.items():
        problems.add(orphan, f"no class map classes/{stem}.png for this instance map")
    problems.raise_if_any(str(path))
    return Imported(classes if classes is not None else generic_classes(seen), images)


register(
    Format(
        "instance-png",
        "class PNG + 16-bit instance-id PNG",
        kind="instances",
        fidelity="exact",
        writer=InstancePngWriter,
        reader=read_instance_rasters,
    )
)
register(
    Format(
        "instance-tiff",
        "class PNG + 32-bit instance-id TIFF",
        kind="instances",
        fidelity="exact",
        writer=InstanceTiffWriter,
        reader=read_instance_rasters,
    )
)
