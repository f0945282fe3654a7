"""Semantic masks: indexed PNG, 16-bit PNG and NumPy ``.npy``.

Each image becomes ``<name>.png`` / ``<name>.npy`` holding class ids
(255 = unlabelled), plus a ``classes.json`` naming the classes. The indexed
PNG embeds the class colours as its palette, so any viewer shows the classes.
All three are written strip by strip.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from segcore.formats.base import (
    ExportItem,
    Imported,
    LabelImage,
    Writer,
    safe_stem,
    write_class_file,
)
from segcore.formats.checks import MemoryBudget
from segcore.formats.png import PngMode, PngWriter, read_png
from segcore.formats.problems import Problems, check_class_ids, generic_classes, read_class_file
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress
from segcore.labels.box import strips
from segcore.labels.reader import LabelReader
from segcore.labels.schema import UNLABELLED, ClassInfo, palette


def write_class_png(
    labels: LabelReader, path: Path, *, rows: int, sixteen_bit: bool = False
) -> Job[None]:
    """Write the class layer of ``labels`` as an indexed (or 16-bit) PNG, strip by strip."""
    width, height = labels.width, labels.height
    mode: PngMode = "L16" if sixteen_bit else "P"
    colours = None if sixteen_bit else palette(labels.classes)
    with PngWriter(path, width, height, mode=mode, palette=colours) as png:
        for x, y, w, h in strips(width, height, rows):
            png.write_rows(labels.read("semantic", x, y, w, h))
            yield Progress((y + h) * width, width * height)


class PngClassWriter(Writer):
    """``<name>.png``: 8-bit indexed with the class palette, or 16-bit grey."""

    sixteen_bit = False

    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{safe_stem(item.name)}.png"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        path = staging.path(self.outputs(item)[0])
        rows = self.options.strip_rows(item.labels.width)
        yield from write_class_png(item.labels, path, rows=rows, sixteen_bit=self.sixteen_bit)

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


class Png16ClassWriter(PngClassWriter):
    sixteen_bit = True


class NpyClassWriter(Writer):
    """``<name>.npy``: a uint8 array, header then rows appended strip by strip.

    ``np.lib.format.open_memmap`` would work too, but every page written
    through the map stays resident in the process, so its RSS grows with the
    image (381 MiB at 20k x 20k). Strips are whole rows in C order, so
    appending them after the header gives the same file in bounded memory.
    """

    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{safe_stem(item.name)}.npy"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels = item.labels
        width, height = labels.width, labels.height
        path = staging.path(self.outputs(item)[0])
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
            "fortran_order": False,
            "shape": (height, width),
        }
        with open(path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
            for x, y, w, h in strips(width, height, self.options.strip_rows(width)):
                f.write(np.ascontiguousarray(labels.read("semantic", x, y, w, h), np.uint8).data)
                yield Progress((y + h) * width, width * height)

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


def mask_files(path: Path, suffixes: tuple[str, ...], problems: Problems) -> list[Path]:
    """``path`` itself, or the mask files in folder ``path``."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)
        if not files:
            problems.add(path, f"no {'/'.join(suffixes)} files in this folder")
        return files
    if not path.exists():
        problems.add(path, "file not found")
        return []
    return [path]


def class_map_from(
    values: NDArray[np.generic], file: Path, problems: Problems
) -> NDArray[np.uint8]:
    """``values`` as a uint8 class map; values outside 0..255 are a problem."""
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.integer):
        problems.add(file, f"expected a 2-D integer mask, got {values.dtype} {values.shape}")
        return np.zeros((0, 0), np.uint8)
    if values.size and (values.min() < 0 or values.max() > UNLABELLED):
        problems.add(file, f"class ids must be 0..255, found {values.min()}..{values.max()}")
        return np.zeros((0, 0), np.uint8)
    return values.astype(np.uint8)


def import_masks(
    path: Path,
    suffixes: tuple[str, ...],
    load: Callable[[Path], NDArray[np.generic]],
) -> Imported:
    """Class maps from mask files, validated in full before returning."""
    problems = Problems()
    folder = path if path.is_dir() else path.parent
    classes = read_class_file(folder, problems)
    images: list[LabelImage] = []
    seen: set[int] = set()
    budget = MemoryBudget()
    for file in mask_files(path, suffixes, problems):
        try:
            width, height = peek_size(file)
            if not budget.reserve(width, height, str(file), problems):
                continue
            values = load(file)
        except Exception as exc:  # noqa: BLE001 - every decoder error becomes a problem line
            problems.add(file, f"cannot read: {exc}")
            continue
        class_map = class_map_from(values, file, problems)
        if class_map.size == 0:
            continue
        if classes is not None:
            check_class_ids(class_map, classes, file, problems)
        seen |= {int(v) for v in np.unique(class_map)} - {UNLABELLED}
        image = LabelImage.empty(file.stem, *class_map.shape)
        image.classes = class_map
        images.append(image)
    problems.raise_if_any(str(path))
    found: list[ClassInfo] = classes if classes is not None else generic_classes(seen)
    return Imported(found, images)


def peek_size(file: Path) -> tuple[int, int]:
    """(width, height) of a mask file from its header, before its pixels are decoded."""
    suffix = file.suffix.lower()
    if suffix == ".npy":
        with open(file, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0
            if major >= 2:
                read = np.lib.format.read_array_header_2_0
            shape = read(f)[0]
        return (int(shape[1]), int(shape[0])) if len(shape) >= 2 else (int(np.prod(shape)), 1)
    if suffix in {".tif", ".tiff"}:
        import rasterio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(file) as src:
                return int(src.width), int(src.height)
    from PIL import Image

    with Image.open(file) as image:
        return image.size


def _load_png(file: Path) -> NDArray[np.generic]:
    return read_png(file)[0]


def _load_npy(file: Path) -> NDArray[np.generic]:
    return np.asarray(np.load(file, mmap_mode="r", allow_pickle=False))


def read_png_masks(path: Path) -> Imported:
    """Import ``.png`` class masks from a file or folder (with optional ``classes.json``)."""
    return import_masks(path, (".png",), _load_png)


def read_npy_masks(path: Path) -> Imported:
    """Import ``.npy`` class masks from a file or folder (with optional ``classes.json``)."""
    return import_masks(path, (".npy",), _load_npy)


register(
    Format(
        "png",
        "indexed PNG class masks, class palette",
        kind="semantic",
        fidelity="classes",
        writer=PngClassWriter,
        reader=read_png_masks,
    )
)
register(
    Format(
        "png16",
        "16-bit PNG class masks",
        kind="semantic",
        fidelity="classes",
        writer=Png16ClassWriter,
        reader=read_png_masks,
    )
)
register(
    Format(
        "npy",
        "NumPy .npy class masks",
        kind="semantic",
        fidelity="classes",
        writer=NpyClassWriter,
        reader=read_npy_masks,
    )
)
