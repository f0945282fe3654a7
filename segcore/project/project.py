"""A Tessera project: a folder of images' labels, models and journals.

::

    my-project/
      project.json            classes, images (relative paths), settings
      labels/<image-id>.zarr  one label store per image
      journal/<image-id>.journal   committed edits since the last save
      models/                 trained models (safetensors + JSON)

Every committed edit is in the image's journal before it is acknowledged;
:meth:`Project.open` replays journals left by a crash. :meth:`Project.save`
is a checkpoint: stores flushed, journals emptied, ``project.json`` replaced
atomically.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from segcore.errors import LabelError, ProjectError, TesseraError
from segcore.labels.editor import Editor
from segcore.labels.schema import ClassInfo
from segcore.labels.store import LabelStore
from segcore.project import lock, manifest
from segcore.project.atomic import atomic_write_json, disk_error
from segcore.project.journal import MAGIC, Journal
from segcore.project.manifest import FILE_NAME, ImageRecord, Manifest

ImageState = Literal["ok", "missing"]


@dataclass(frozen=True)
class ImageEntry:
    """An image of the project as the image list shows it."""

    id: str
    path: Path  # absolute, resolved against the project folder
    relpath: str  # as stored in project.json
    width: int
    height: int
    labelled_fraction: float  # 0..1

    @property
    def state(self) -> ImageState:
        """ "missing" when the file is not where the project says; ask the user to relocate."""
        return "ok" if self.path.exists() else "missing"

    @property
    def missing(self) -> bool:
        return self.state == "missing"


class Project:
    """An open project folder. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, root: Path, data: Manifest) -> None:
        self._lock_fd = lock.acquire(root)
        self.root = root
        self._data = data
        self._stores: dict[str, LabelStore] = {}
        self._journals: dict[str, Journal] = {}
        self._editors: dict[str, Editor] = {}
        self.recovered: dict[str, int] = {}  # image id -> journal records replayed on open

    # -- create / open ---------------------------------------------------------

    @classmethod
    def create(
        cls, directory: str | Path, *, classes: list[ClassInfo], name: str | None = None
    ) -> Project:
        """Make a new project in ``directory`` (absent or empty) and save it.

        Raises
        ------
        ProjectError
            If the folder holds files already or the classes are invalid.
        """
        root = Path(directory).absolute()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise ProjectError(f"cannot create a project in {root}: it is not an empty folder")
        data = manifest.parse(
            {
                "schema_version": manifest.SCHEMA_VERSION,
                "name": name or root.name,
                "classes": [c.to_json() for c in classes],
            },
            root / FILE_NAME,
        )
        try:
            for sub in ("labels", "journal", "models"):
                (root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(root, exc, what="creating the project") from exc
        project = cls(root, data)
        try:
            atomic_write_json(root / FILE_NAME, data.to_json())
        except ProjectError:
            project.close(save=False)
            raise
        return project

    @classmethod
    def open(cls, directory: str | Path) -> Project:
        """Open a project, replaying the journal of any image edited since its last save.

        Raises
        ------
        ProjectError
            If ``project.json`` is missing, corrupt (the message names the field) or
            from a newer Tessera (refused, nothing written).

        Adding and relocating images write ``project.json`` at once; labels are
        journalled as they are drawn; :meth:`save` is a checkpoint.
        """
        root = Path(directory).absolute()
        data = manifest.load(root / FILE_NAME)
        project = cls(root, data)
        try:
            for sub in ("labels", "journal", "models"):
                (root / sub).mkdir(exist_ok=True)
            for rec in data.images:
                jpath = project._journal_path(rec.id)
                if jpath.is_file() and jpath.stat().st_size > len(MAGIC):
                    project.label_store(rec.id)  # opening replays the journal
        except OSError as exc:
            project.close(save=False)
            raise ProjectError(f"cannot open project {root}: {exc}") from exc
        except TesseraError:
            project.close(save=False)
            raise
        return project

    # -- images ----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._data.name

    @property
    def classes(self) -> list[ClassInfo]:
        return list(self._data.classes)

    @property
    def settings(self) -> dict[str, Any]:
        """Free-form settings saved in project.json (JSON values only)."""
        return self._data.settings

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def images(self) -> list[ImageEntry]:
        """Every image, in project order, with its labelled fraction."""
        return [self._entry(r) for r in self._data.images]

    def image(self, image_id: str) -> ImageEntry:
        return self._entry(self._record(image_id))

    def add_image(
        self, path: str | Path, *, width: int | None = None, height: int | None = None
    ) -> ImageEntry:
        """Add an image by path (stored relative to the project); returns its entry.

        The size is read with ``segcore.io.open_image`` when given neither
        ``width`` nor ``height``. Adding the same file twice returns the first entry.
        """
        path = Path(path).absolute()
        for rec in self._data.images:
            if self._abs(rec) == path:
                return self._entry(rec)
        if width is None or height is None:
            size = _image_size(path, required=True)
            assert size is not None
            width, height = size
        if width < 1 or height < 1:
            raise ProjectError(f"cannot add {path}: size {width}x{height} is not positive")
        rec = ImageRecord(self._new_id(path.stem), self._rel(path), width, height)
        self._data.images.append(rec)
        try:
            self._write_manifest()  # at once: labels of an unlisted image would be lost
        except ProjectError:
            self._data.images.remove(rec)
            raise
        return self._entry(rec)

    def relocate(self, image_id: str, new_path: str | Path) -> ImageEntry:
        """Point a (missing) image at its new file; its size must match the labels."""
        rec = self._record(image_id)
        path = Path(new_path).absolute()
        if not path.exists():
            raise ProjectError(f"cannot relocate {image_id} to {path}: no such file")
        size = _image_size(path, required=False)
        if size is not None and size != (rec.width, rec.height):
            raise ProjectError(
                f"{path} is {size[0]}x{size[1]} pixels but image {image_id} was "
                f"{rec.width}x{rec.height}; pick the same image"
            )
        old, rec.path = rec.path, self._rel(path)
        try:
            self._write_manifest()
        except ProjectError:
            rec.path = old
            raise
        return self._entry(rec)

    # -- labels ----------------------------------------------------------------

    def label_store_path(self, image_id: str) -> Path:
        self._record(image_id)
        return self.root / "labels" / f"{image_id}.zarr"

    def label_store(self, image_id: str) -> LabelStore:
        """The image's label store (created empty on first use; journal replayed),
        a label reader with the project's classes."""
        if image_id in self._stores:
            return self._stores[image_id]
        rec = self._record(image_id)
        path = self.label_store_path(image_id)
        try:
            if path.exists():
                store = LabelStore.open(path, expect_size=(rec.width, rec.height))
            else:
                store = LabelStore.create(path, width=rec.width, height=rec.height)
        except LabelError as exc:
            raise ProjectError(f"image {image_id}: {exc}") from exc
        store.classes = tuple(self._data.classes)
        journal = Journal.open(self._journal_path(image_id))
        replayed = journal.replay(store)
        if replayed:
            self.recovered[image_id] = replayed
        self._stores[image_id] = store
        self._journals[image_id] = journal
        return store

    def editor(self, image_id: str, *, history_bytes: int | None = None) -> Editor:
        """The editing session of one image (kept while the project is open)."""
        if image_id not in self._editors:
            store = self.label_store(image_id)
            kwargs = {} if history_bytes is None else {"history_bytes": history_bytes}
            self._editors[image_id] = Editor(
                store, classes=self.classes, journal=self._journals[image_id], **kwargs
            )
        return self._editors[image_id]

    # -- save / close ----------------------------------------------------------

    def save(self) -> None:
        """Checkpoint every open store, then replace project.json atomically.

        Raises
        ------
        ProjectError
            If the disk refuses (e.g. full); the last save stays intact and no
            committed edit is lost (it remains in the journal).
        """
        for image_id, ed in self._editors.items():
            if ed.in_stroke:
                raise ProjectError(f"cannot save while a stroke is being drawn on {image_id}")
        for image_id, store in self._stores.items():
            try:
                store.flush()
            except OSError as exc:
                raise disk_error(store.path, exc) from exc
            self._journals[image_id].checkpoint()
            self._record(image_id).labelled = store.labelled_fraction
        self._write_manifest()

    def save_as(self, directory: str | Path) -> None:
        """Copy the project (labels, models) to a new folder and continue there."""
        new_root = Path(directory).absolute()
        if new_root.exists() and (not new_root.is_dir() or any(new_root.iterdir())):
            raise ProjectError(f"cannot save as {new_root}: it is not an empty folder")
        self.save()
        tmp = new_root.with_name(f".{new_root.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            for sub in ("labels", "models"):
                shutil.copytree(self.root / sub, tmp / sub)
            (tmp / "journal").mkdir()
            moved = Manifest(
                self._data.name,
                list(self._data.classes),
                [
                    ImageRecord(
                        r.id, _relative(self._abs(r), new_root), r.width, r.height, r.labelled
                    )
                    for r in self._data.images
                ],
                dict(self._data.settings),
            )
            atomic_write_json(tmp / FILE_NAME, moved.to_json())
            if new_root.exists():
                new_root.rmdir()
            os.replace(tmp, new_root)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise disk_error(new_root, exc, what="saving the project as") from exc
        except TesseraError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        open_ids = list(self._stores)
        new_lock = lock.acquire(new_root)
        self._close_handles()
        lock.release(self._lock_fd)
        self._lock_fd = new_lock
        self.root, self._data = new_root, moved
        for image_id in open_ids:
            self.label_store(image_id)
            old = self._editors.get(image_id)
            if old is not None:
                old.store = self._stores[image_id]
                old.journal = self._journals[image_id]

    def close(self, *, save: bool = True) -> None:
        """Close the project; without ``save`` the journals keep the unsaved edits."""
        if save:
            self.save()
        try:
            self._close_handles()
        finally:
            self._editors.clear()
            lock.release(self._lock_fd)
            self._lock_fd = -1

    # -- internals -------------------------------------------------------------

    def _write_manifest(self) -> None:
        atomic_write_json(self.root / FILE_NAME, self._data.to_json())

    def _close_handles(self) -> None:
        failed: tuple[Path, OSError] | None = None
        for store in self._stores.values():
            try:
                store.close()
            except OSError as exc:  # the journal still holds its edits
                failed = failed or (store.path, exc)
        for journal in self._journals.values():
            journal.close()
        self._stores.clear()
        self._journals.clear()
        if failed is not None:
            raise disk_error(failed[0], failed[1], what="closing") from failed[1]

    def _journal_path(self, image_id: str) -> Path:
        return self.root / "journal" / f"{image_id}.journal"

    def _record(self, image_id: str) -> ImageRecord:
        for rec in self._data.images:
            if rec.id == image_id:
                return rec
        raise ProjectError(f"project {self.root} has no image {image_id!r}")

    def _entry(self, rec: ImageRecord) -> ImageEntry:
        store = self._stores.get(rec.id)
        fraction = store.labelled_fraction if store is not None else rec.labelled
        return ImageEntry(rec.id, self._abs(rec), rec.path, rec.width, rec.height, fraction)

    def _abs(self, rec: ImageRecord) -> Path:
        return Path(os.path.normpath(self.root / rec.path))

    def _rel(self, path: Path) -> str:
        return _relative(path, self.root)

    def _new_id(self, stem: str) -> str:
        base = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in stem)
        base = base.lstrip(".")[:100] or "image"
        taken = {r.id for r in self._data.images}
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with '/' separators (absolute if on another drive)."""
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:
        return path.as_posix()


def _image_size(path: Path, *, required: bool) -> tuple[int, int] | None:
    """(width, height) read with segcore.io.open_image; None if no reader and not required."""
    import segcore.io as io

    opener = getattr(io, "open_image", None)
    if opener is None:
        if not required:
            return None
        raise ProjectError(
            f"cannot read the size of {path}: no image reader is installed; pass width and height"
        )
    try:
        source = opener(path)
    except TesseraError as exc:
        raise ProjectError(f"cannot use {path} as an image: {exc}") from exc
    try:
        return int(source.width), int(source.height)
    finally:
        source.close()
