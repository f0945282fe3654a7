"""What training reads: images with class maps, from arrays, folders or a project.

A :class:`LabelledImage` pairs an :class:`~segcore.io.source.ImageSource` with a
label reader (:class:`~segcore.labels.reader.LabelReader`) whose class map
training reads (uint8, UNLABELLED = 255 where nobody labelled). Nothing is
loaded whole: the dataset reads windows, so memory does not grow with the image
size.

>>> from segcore.synthetic import make_scene, SCENE_CLASSES
>>> scene = make_scene(128, 128, seed=1)
>>> data = data_from_arrays([scene.image], [scene.semantic], classes=SCENE_CLASSES)
>>> data.images[0].width
128
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from segcore.errors import TesseraError, TrainingError
from segcore.io.array import ArraySource
from segcore.io.source import ImageSource
from segcore.labels.adapters import ArrayLabels, SourceLabels, class_ids
from segcore.labels.box import Box
from segcore.labels.reader import LabelReader
from segcore.labels.schema import UNLABELLED, ClassInfo, make_classes

if TYPE_CHECKING:
    from segcore.project import Project

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".jp2", ".webp", ".dcm")


@dataclass(frozen=True)
class LabelledImage:
    """One training image: pixels, class map, and recently corrected regions.

    ``corrected`` boxes (level-0 pixels) are weighted up in the loss and sampled
    more often, so the corrections a user just made count. ``labelled_hint``
    (optional) returns boxes outside which there is surely no label (a label
    store's written chunks), so the survey of a huge, barely labelled image
    reads only those.
    """

    name: str
    image: ImageSource
    labels: LabelReader
    corrected: tuple[Box, ...] = ()
    close_labels: Callable[[], None] | None = None
    labelled_hint: Callable[[], list[Box]] | None = None

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


@dataclass(frozen=True)
class TrainingData:
    """The images to train on and their class list (None: infer ids from the labels)."""

    images: tuple[LabelledImage, ...]
    classes: tuple[ClassInfo, ...] | None = None
    from_mask_files: bool = False  # labels read from mask files (0/255 masks are explained)

    def close(self) -> None:
        """Close every image source and label store this data opened."""
        for item in self.images:
            item.image.close()
            if item.close_labels is not None:
                item.close_labels()


def _class_map(mask: np.ndarray, where: str) -> np.ndarray:
    """A 2-D class map with ids 0..254 (255 unlabelled), as uint8; TrainingError otherwise."""
    if mask.ndim != 2:
        raise TrainingError(f"a class map must be 2-D (h, w), got shape {mask.shape}")
    return class_ids(mask, where, integers_only=True, error=TrainingError)


def data_from_arrays(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    classes: Sequence[ClassInfo] | Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    corrected: Mapping[int, Sequence[Box]] | None = None,
    nodata: float | None = None,
) -> TrainingData:
    """Training data from in-memory images ((h, w) or (h, w, bands)) and class maps.

    ``corrected`` maps an image index to its recently corrected boxes. ``nodata``
    is the pixel value that marks no data (NaN pixels always do).
    """
    if len(images) != len(masks):
        raise TrainingError(f"got {len(images)} images but {len(masks)} masks")
    items = []
    for i, (image, mask) in enumerate(zip(images, masks, strict=True)):
        name = names[i] if names is not None else f"image {i}"
        if image.shape[:2] != mask.shape[:2]:
            raise TrainingError(
                f"{name}: image is {image.shape[1]}x{image.shape[0]} but its mask is "
                f"{mask.shape[1]}x{mask.shape[0]}; they must match pixel for pixel"
            )
        boxes = tuple((corrected or {}).get(i, ()))
        labels = ArrayLabels(_class_map(mask, "array"))
        source = ArraySource(image, name=name, nodata=nodata)
        items.append(LabelledImage(name, source, labels, boxes))
    return TrainingData(tuple(items), _classes(classes))


def _classes(classes: Sequence[ClassInfo] | Sequence[str] | None) -> tuple[ClassInfo, ...] | None:
    if classes is None:
        return None
    if all(isinstance(c, ClassInfo) for c in classes):
        return tuple(c for c in classes if isinstance(c, ClassInfo))
    return tuple(make_classes([str(c) for c in classes]))


class Binary255:
    """A label reader over a 0/255 binary mask: 255 (the foreground) is read as class 1.

    Outside the image nothing is labelled, as with any mask file.
    """

    def __init__(self, inner: SourceLabels) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def read(self, layer: Any, x: int, y: int, w: int, h: int, *, level: int = 0) -> np.ndarray:
        out = np.asarray(self.inner.read(layer, x, y, w, h, level=level))
        if layer != "semantic":
            return out
        inside = Box(x, y, w, h).intersect(Box(0, 0, self.inner.width, self.inner.height))
        if not inside.is_empty:
            part = out[inside.slices(Box(x, y, w, h))]
            part[part == UNLABELLED] = 1
        return out


def mask_pairs(
    images_dir: Path, masks_dir: Path, what: str, example: str
) -> list[tuple[Path, Path]]:
    """(image, mask) files of the same stem in the two folders; none is an error.

    ``what`` and ``example`` name the mask kind in the message ("a mask", "masks/a.png").
    """
    for folder in (images_dir, masks_dir):
        if not folder.is_dir():
            raise TrainingError(f"{folder}: no such folder")
    masks = {p.stem: p for p in sorted(masks_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = [
        (p, masks[p.stem])
        for p in sorted(images_dir.iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in masks
    ]
    if not pairs:
        raise TrainingError(
            f"no image in {images_dir} has {what} of the same name in {masks_dir}; "
            f"name them alike (images/a.tif with {example})"
        )
    return pairs


def data_from_folders(
    images_dir: str | Path,
    masks_dir: str | Path,
    *,
    classes: Sequence[ClassInfo] | Sequence[str] | None = None,
    binary_255: bool = False,
) -> TrainingData:
    """Pairs ``images/NAME.ext`` with ``masks/NAME.*`` (same stem, any image format).

    Masks are class maps (0..254, 255 unlabelled). Images without a mask are
    skipped (they are simply unlabelled); a folder with no pair is an error.
    ``binary_255`` reads 0/255 binary masks: 255 becomes class 1, nothing is unlabelled.
    """
    from segcore.io import open_image

    pairs = mask_pairs(Path(images_dir), Path(masks_dir), "a mask", "masks/a.png")
    items: list[LabelledImage] = []
    try:
        for image_path, mask_path in pairs:
            image = open_image(image_path)
            try:
                mask = open_image(mask_path)
            except TesseraError:
                image.close()
                raise
            if (mask.width, mask.height) != (image.width, image.height):
                image.close()
                mask.close()
                raise TrainingError(
                    f"{mask_path}: mask is {mask.width}x{mask.height} but {image_path.name} is "
                    f"{image.width}x{image.height}; they must match pixel for pixel"
                )
            reader: Any = SourceLabels(
                mask, where=str(mask_path), integers_only=True, error=TrainingError
            )
            if binary_255:
                reader = Binary255(reader)
            items.append(LabelledImage(image_path.name, image, reader, (), mask.close))
    except TesseraError:
        TrainingData(tuple(items)).close()
        raise
    return TrainingData(tuple(items), _classes(classes), from_mask_files=True)


def data_from_project(
    project: Project,
    *,
    image_ids: Sequence[str] | None = None,
    corrected: Mapping[str, Sequence[Box]] | None = None,
    read_only: bool = True,
) -> TrainingData:
    """Every labelled image of an open project (or those in ``image_ids``).

    With ``read_only`` (the GUI's case) label stores are opened a second time,
    read-only, so training sees the last saved labels while the user goes on
    editing: save the project before training. Without it (the CLI owns the
    project) the project's own stores are read. ``corrected`` maps image ids to
    the boxes corrected since the last training (the GUI knows them).
    """
    from segcore.io import open_image
    from segcore.labels.store import LabelStore

    wanted = set(image_ids) if image_ids is not None else None
    items: list[LabelledImage] = []
    try:
        for entry in project.images:
            if wanted is not None and entry.id not in wanted:
                continue
            if entry.labelled_fraction <= 0 and wanted is None:
                continue
            if entry.missing:
                raise TrainingError(
                    f"image {entry.id}: {entry.path} is missing; relocate it in the project"
                )
            store_path = project.label_store_path(entry.id)
            if read_only and not store_path.exists():
                continue
            store: Any
            closer: Callable[[], None] | None = None
            if read_only:
                store = LabelStore.open(store_path, read_only=True)
                store.classes = tuple(project.classes)
                closer = store.close
            else:
                store = project.label_store(entry.id)
            image = open_image(entry.path)
            fixed = tuple((corrected or {}).get(entry.id, ()))
            if int(getattr(store, "depth", 1)) > 1:
                items.extend(_labelled_slices(entry.id, image, store, closer))
                continue
            items.append(LabelledImage(entry.id, image, store, fixed, closer, _store_hint(store)))
    except TesseraError:
        TrainingData(tuple(items)).close()
        raise
    return TrainingData(tuple(items), tuple(project.classes))


def _labelled_slices(
    image_id: str, volume: ImageSource, store: Any, closer: Callable[[], None] | None
) -> list[LabelledImage]:
    """One training image per labelled slice of a label volume (unlabelled slices give no
    tiles); the first closes the volume and the store for all of them."""
    from segcore.io.plane import PlaneSource

    def close() -> None:
        volume.close()
        if closer is not None:
            closer()

    out: list[LabelledImage] = []
    for z in (int(z) for z in np.flatnonzero(store.slice_counts())):
        plane = store.plane(z)
        first = not out
        out.append(
            LabelledImage(
                f"{image_id}@{z}",
                PlaneSource(volume, z),
                plane,
                (),
                close if first else None,
                _store_hint(plane),
            )
        )
    if not out:
        close()
    return out


def _store_hint(store: Any) -> Callable[[], list[Box]]:
    """The label store's chunks holding any label (from its per-chunk counts, no scan)."""

    def boxes() -> list[Box]:
        c = int(store.chunk)
        return [Box(cx * c, cy * c, c, c) for cy, cx in store.labelled_chunks()]

    return boxes
