"""Export from a project and import into one.

Export: :func:`project_items` makes each image's label store (a label reader
with the project's classes) an :class:`ExportItem`, with the image's CRS and
transform when it has them.

Import: :func:`import_job` (a job; :func:`import_into_project` runs it to its
end) checks everything first (every imported image matches a project image by
file stem or id and has its size; every class used is in the project by name
or in ``mapping``; every target's label store opens, so lost labels are reported
first) and raises one :class:`FormatError` listing all problems before writing
anything. While writing, window by window, the old values of
each window are kept in a temporary folder; if a write fails, or the job is
closed, they are put back, so a failed or cancelled import leaves the labels
as they were. Imported instance ids are shifted past the store's highest id,
so they never collide with existing objects. Finally the project is saved
(import writes are not journalled).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from segcore.errors import FormatError, TesseraError
from segcore.formats.base import ExportItem, Imported, LabelImage
from segcore.formats.problems import Problems
from segcore.jobs import Job, Progress, run_to_end
from segcore.labels.box import windows
from segcore.labels.schema import UNLABELLED, ClassInfo

if TYPE_CHECKING:
    from segcore.labels.store import LabelStore
    from segcore.project import Project

T = TypeVar("T")


def image_georef(path: Path) -> tuple[str | None, tuple[float, ...] | None]:
    if not path.exists():
        return None, None
    try:
        from segcore.io.opener import open_image

        source = open_image(path)
    except TesseraError:
        return None, None
    try:
        meta = source.metadata
        return meta.crs, meta.transform
    finally:
        source.close()


PROJECT_PARTS = ("project.json", "labels", "journal", "models", "damaged", ".lock")


def project_inputs(project: Project) -> list[Path]:
    """What an export of ``project`` must never write over: its images and its own files."""
    return [e.path for e in project.images] + [project.root / part for part in PROJECT_PARTS]


def project_items(project: Project, image_ids: Sequence[str] | None = None) -> list[ExportItem]:
    """One export item per project image (all, or ``image_ids``), named by file stem."""
    entries = [project.image(i) for i in image_ids] if image_ids else project.images
    stems = [e.path.stem for e in entries]
    items = []
    for entry, stem in zip(entries, stems, strict=True):
        name = stem if stems.count(stem) == 1 else entry.id
        crs, transform = image_georef(entry.path)
        items.append(
            ExportItem(
                name,
                project.label_store(entry.id),
                image_file=entry.path.name,
                crs=crs,
                transform=transform,  # type: ignore[arg-type]
                source=entry.path,
            )
        )
    return items


def read_vectors_for_project(name: str, path: Path, project: Project) -> Imported:
    """Read vector file(s) in format ``name``, each rasterised onto the project image
    with the same file stem (its grid: size, transform, CRS)."""
    from segcore.formats.registry import import_labels
    from segcore.formats.vector import image_grid

    files = (
        sorted(p for p in path.iterdir() if p.suffix in {".geojson", ".gpkg"})
        if path.is_dir()
        else [path]
    )
    entries = {e.path.stem: e for e in project.images}
    problems = [f"{f}: no project image named {f.stem}" for f in files if f.stem not in entries]
    if problems:
        raise FormatError(f"cannot import {path}", problems)
    merged: Imported | None = None
    for file in files:
        one = import_labels(name, file, **image_grid(entries[file.stem].path))
        if merged is None:
            merged = one
        else:
            if [c.name for c in one.classes] != [c.name for c in merged.classes]:
                raise FormatError(f"{file}: its classes differ from the other files'")
            merged.images += one.images
    if merged is None:
        raise FormatError(f"{path}: no .geojson or .gpkg files")
    return merged


def classes_to_map(imported: Imported, project_classes: Sequence[ClassInfo]) -> list[str]:
    """Imported class names that are used and not in the project (the mapping dialog's rows)."""
    known = {c.name for c in project_classes}
    used = set()
    for image in imported.images:
        used |= {int(v) for v in np.unique(image.classes)} - {UNLABELLED}
    return [c.name for c in imported.classes if c.id in used and c.name not in known]


def _lookup(
    imported: Imported,
    project_classes: Sequence[ClassInfo],
    mapping: Mapping[str, str | None],
    problems: Problems,
) -> NDArray[np.uint8]:
    """256-entry table: imported class id -> project class id (255 = drop)."""
    by_name = {c.name: c for c in project_classes}
    table = np.full(256, UNLABELLED, np.uint8)
    need = set(classes_to_map(imported, project_classes))
    for cls in imported.classes:
        target: str | None = cls.name
        if cls.name in mapping:
            target = mapping[cls.name]
        elif cls.name in need:
            problems.add(
                f"class {cls.name!r}",
                "not in the project; map it to a project class (or to nothing to drop it)",
            )
            continue
        if target is None:
            continue
        if target not in by_name:
            problems.add(f"class {cls.name!r}", f"mapped to {target!r}, which the project lacks")
            continue
        table[cls.id] = by_name[target].id
    return table


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: image id per imported image, and pixels labelled."""

    images: dict[str, str]
    labelled_pixels: int


def import_into_project(
    project: Project,
    imported: Imported,
    *,
    mapping: Mapping[str, str | None] | None = None,
    merge: bool = False,
    window: int = 2048,
) -> ImportReport:
    """:func:`import_job` run to its end (scripts, tests)."""
    job = import_job(project, imported, mapping=mapping, merge=merge, window=window)
    return run_to_end(job)


def import_job(
    project: Project,
    imported: Imported,
    *,
    mapping: Mapping[str, str | None] | None = None,
    merge: bool = False,
    window: int = 2048,
    lock: AbstractContextManager[Any] | None = None,
) -> Job[ImportReport]:
    """Write imported labels into the project images they belong to, as a job.

    Parameters
    ----------
    mapping
        Imported class name -> project class name (``None`` drops the class).
        Names equal to a project class need no entry.
    merge
        Keep existing labels where the import is unlabelled (default: replace
        the image's labels entirely).
    window
        Window size for writing; progress is yielded per window, in pixels.
    lock
        Held around each window's reads and writes (and the final save), not
        for the whole import: the app passes the labels lock its tile readers take.

    Closing the job (cancel) or a failed write puts back every window it wrote,
    so the labels are as they were; the project is saved only at the end.

    Raises
    ------
    FormatError
        Listing every problem; nothing is written then.
    """
    problems = Problems()
    table = _lookup(imported, project.classes, mapping or {}, problems)
    things = np.zeros(256, bool)
    things[[c.id for c in project.classes if c.thing]] = True
    targets = _match_images(project, imported.images, problems)
    held = lock if lock is not None else contextlib.nullcontext()
    with held:  # a damaged store is a problem too: found before anything is written
        stores = _open_stores(project, targets, problems)
    problems.raise_if_any("into the project")
    undo_dir = Path(tempfile.mkdtemp(prefix="tessera-import-"))
    saved: list[tuple[LabelStore, int, int, Path]] = []
    total = sum(image.classes.size for image, _ in targets)
    done = labelled = 0
    finished = False
    try:
        for image, image_id in targets:
            store = stores[image_id]
            writer = _write_image(store, image, table, things, merge, window, undo_dir, saved)
            for pixels, count in _locked(writer, held):
                done, labelled = done + pixels, labelled + count
                yield Progress(done, total, message=f"importing {image.name}")
        with held:
            project.save()
        finished = True
    except (TesseraError, OSError) as exc:
        with held:
            _restore(saved)
        finished = True
        raise FormatError(f"import failed and was undone: {exc}") from exc
    finally:
        if not finished:  # closed (cancelled) or interrupted: undo what was written
            with held:
                _restore(saved)
        shutil.rmtree(undo_dir, ignore_errors=True)
    return ImportReport({img.name: image_id for img, image_id in targets}, labelled)


def _locked(steps: Iterator[T], lock: AbstractContextManager[Any]) -> Iterator[T]:
    """Each step of ``steps`` computed while holding ``lock``, which is free in between."""
    while True:
        with lock:
            try:
                step = next(steps)
            except StopIteration:
                return
        yield step


def _match_images(
    project: Project, images: list[LabelImage], problems: Problems
) -> list[tuple[LabelImage, str]]:
    entries = project.images
    by_key: dict[str, Any] = {}
    for e in entries:
        by_key.setdefault(e.path.stem, e)
        by_key.setdefault(e.id, e)
    out = []
    for image in images:
        entry = by_key.get(image.name)
        if entry is None:
            problems.add(image.name, "no project image with this name; add the image first")
            continue
        h, w = image.classes.shape
        if (w, h) != (entry.width, entry.height):
            problems.add(
                image.name, f"mask is {w} x {h} but the image is {entry.width} x {entry.height}"
            )
            continue
        out.append((image, entry.id))
    return out


def _open_stores(
    project: Project, targets: list[tuple[LabelImage, str]], problems: Problems
) -> dict[str, LabelStore]:
    """The label store of every target image; those that cannot be opened are problems
    (lost labels name the image and what to do: restore them or accept the loss)."""
    stores = {}
    for image, image_id in targets:
        try:
            stores[image_id] = project.label_store(image_id)
        except TesseraError as exc:
            problems.add(image.name, str(exc))
    return stores


def _write_image(
    store: LabelStore,
    image: LabelImage,
    table: NDArray[np.uint8],
    things: NDArray[np.bool_],
    merge: bool,
    window: int,
    undo_dir: Path,
    saved: list[tuple[LabelStore, int, int, Path]],
) -> Iterator[tuple[int, int]]:
    """Write one image window by window; yields (pixels done, labelled pixels) per window."""
    from segcore.labels.box import Box

    offset = store.max_instance
    boxes = []
    for x, y, w, h in windows(store.width, store.height, window):
        classes = table[image.classes[y : y + h, x : x + w]]
        instances = image.instances[y : y + h, x : x + w].astype(np.uint32)
        instances = np.where((instances > 0) & things[classes], instances + offset, 0)
        old_c = np.asarray(store.read("semantic", x, y, w, h))
        old_i = np.asarray(store.read("instance", x, y, w, h))
        if merge:
            keep = classes == UNLABELLED
            classes = np.where(keep, old_c, classes)
            instances = np.where(keep, old_i, instances).astype(np.uint32)
        labelled = int((classes != UNLABELLED).sum())
        if not (np.array_equal(classes, old_c) and np.array_equal(instances, old_i)):
            undo = undo_dir / f"{len(saved)}.npz"
            np.savez(undo, semantic=old_c, instance=old_i)
            saved.append((store, x, y, undo))
            store.write("semantic", x, y, classes.astype(np.uint8), overviews=False)
            store.write("instance", x, y, instances, overviews=False)
            boxes.append(Box(x, y, w, h))
        if (x + w, y + h) == (store.width, store.height):  # the last window
            store.update_overviews(boxes)
        yield w * h, labelled


def _restore(saved: list[tuple[LabelStore, int, int, Path]]) -> None:
    for store, x, y, undo in reversed(saved):
        with np.load(undo) as old:
            store.write("semantic", x, y, old["semantic"])
            store.write("instance", x, y, old["instance"])
