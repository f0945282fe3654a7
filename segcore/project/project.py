"""A Tessera project: a folder of images' labels, models and journals.

::

    my-project/
      project.json            classes, images (relative paths), settings
      labels/<image-id>.zarr  one label store per image
      journal/<image-id>.journal   committed edits since the last save
      models/                 trained models (safetensors + JSON)

Every committed edit is in the image's journal before it is acknowledged;
:meth:`Project.open` replays journals left by a crash (salvaging damaged
ones) and checks every label store against its own counts: what is lost is
reported (:attr:`Project.damage`) and only :meth:`Project.accept_loss` starts
such an image again without it. :meth:`Project.save` is a checkpoint: stores
flushed, journals emptied, ``project.json`` replaced atomically. Classes are
added, renamed, recoloured, reordered and deleted through
:attr:`Project.class_edits` (:mod:`segcore.project.classedit`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import LabelError, ProjectError, TesseraError
from segcore.labels import storecheck
from segcore.labels.editor import Editor
from segcore.labels.history import DEFAULT_HISTORY_BYTES
from segcore.labels.schema import ClassInfo
from segcore.labels.store import LabelStore
from segcore.labels.storemeta import DamagedStoreError
from segcore.project import lock, manifest, recovery
from segcore.project.atomic import atomic_write_json, disk_error
from segcore.project.classedit import ClassEdits
from segcore.project.images import ImageEntry, image_shape, image_size, relative
from segcore.project.journal import MAGIC, Journal, JournalUnreadable
from segcore.project.manifest import FILE_NAME, ImageRecord, Manifest
from segcore.project.recovery import DamageKind, JournalRecovery, LabelDamage
from segcore.project.saveas import copy_project


class Project:
    """An open project folder. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, root: Path, data: Manifest) -> None:
        self._lock = lock.acquire(root)
        self.root = root
        self._data = data
        self._stores: dict[str, LabelStore] = {}
        self._journals: dict[str, Journal] = {}
        self._editors: dict[str, Editor] = {}
        self.recovered: dict[str, int] = {}  # image id -> journal records replayed on open
        self.recovery: dict[str, JournalRecovery] = {}  # ... and what could not be read
        self.damage: dict[str, LabelDamage] = {}  # image id -> labels lost, until accepted
        self.class_edits = ClassEdits(self)  # add / rename / ... / delete classes, with undo

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

        What opening found is in :attr:`recovery` (edits recovered from journals,
        and how many could not be read) and :attr:`damage` (labels lost: those
        images cannot be opened until the files are restored or the loss is
        accepted); :meth:`report` says it in words.

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
            recovery.remove_litter(root)
            for rec in data.images:
                if project._inspect(rec) is not None:
                    continue  # reported in project.damage; its journal is left as it is
                jpath = project._journal_path(rec.id)
                if jpath.is_file() and jpath.stat().st_size > len(MAGIC):
                    try:
                        project.label_store(rec.id)  # opening replays the journal
                    except ProjectError:
                        if rec.id not in project.damage:
                            raise
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
        self,
        path: str | Path,
        *,
        width: int | None = None,
        height: int | None = None,
        depth: int = 1,
    ) -> ImageEntry:
        """Add an image by path (stored relative to the project); returns its entry.

        The size is read with ``segcore.io.open_image`` when given neither
        ``width`` nor ``height``; a volume (depth > 1 read from the file, or
        given) gets a label volume, one label map per slice. Adding the same
        file twice returns the first entry.
        """
        path = Path(path).absolute()
        for rec in self._data.images:
            if self._abs(rec) == path:
                return self._entry(rec)
        if width is None or height is None:
            shape = image_shape(path, required=True)
            assert shape is not None
            width, height, depth = shape
        if width < 1 or height < 1 or depth < 1:
            raise ProjectError(f"cannot add {path}: size {width}x{height}x{depth} is not positive")
        rec = ImageRecord(self._new_id(path.stem), self._rel(path), width, height, depth=depth)
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
        size = image_size(path, required=False)
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
        a label reader with the project's classes.

        Raises
        ------
        ProjectError
            If the image's labels are damaged (see :attr:`damage`): the message
            says what is lost and how to restore it or accept the loss.
        """
        if image_id in self._stores:
            return self._stores[image_id]
        rec = self._record(image_id)
        damage = self._inspect(rec)
        if damage is not None:
            raise ProjectError(damage.line())
        path = self.label_store_path(image_id)
        try:
            if path.exists():
                store = LabelStore.open(path, expect_size=(rec.width, rec.height))
                if store.depth not in (1, rec.depth):
                    store.close()
                    raise LabelError(
                        f"label store {path} has {store.depth} slices but its image has "
                        f"{rec.depth}; it belongs to another image: move the store away"
                    )
            else:
                store = LabelStore.create(path, width=rec.width, height=rec.height, depth=rec.depth)
        except DamagedStoreError as exc:
            raise ProjectError(self._damaged(rec, "store unreadable", str(exc)).line()) from exc
        except LabelError as exc:
            raise ProjectError(f"image {image_id}: {exc}") from exc
        store.classes = tuple(self._data.classes)
        try:
            journal = Journal.open(self._journal_path(image_id))
        except JournalUnreadable as exc:
            store.close()
            detail = "its journal of edits since the last save cannot be read"
            raise ProjectError(self._damaged(rec, "journal unreadable", detail).line()) from exc
        except ProjectError:
            store.close()
            raise
        replayed = journal.replay(store)
        salvage = journal.salvage
        if replayed:
            self.recovered[image_id] = replayed
        if replayed or salvage.damaged:
            self.recovery[image_id] = JournalRecovery(
                image_id, self._name(rec), replayed, salvage.lost, salvage.backup
            )
        self._stores[image_id] = store
        self._journals[image_id] = journal
        return store

    def editor(self, image_id: str, *, history_bytes: int | None = None) -> Editor:
        """The editing session of one image (kept while the project is open)."""
        if image_id not in self._editors:
            store = self.label_store(image_id)
            self._editors[image_id] = Editor(
                store,
                classes=self.classes,
                journal=self._journals[image_id],
                history_bytes=DEFAULT_HISTORY_BYTES if history_bytes is None else history_bytes,
                separate_objects=bool(self.settings.get("separate_objects", True)),
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
            rec = self._record(image_id)
            rec.labelled, rec.labelled_pixels = store.labelled_fraction, store.labelled_pixels
        self._write_manifest()

    def save_as(self, directory: str | Path) -> None:
        """Copy the project (labels, models) to a new folder and continue there."""
        new_root = Path(directory).absolute()
        if new_root.exists() and (not new_root.is_dir() or any(new_root.iterdir())):
            raise ProjectError(f"cannot save as {new_root}: it is not an empty folder")
        self.save()
        moved = copy_project(self, new_root)
        open_ids = list(self._stores)
        new_lock = lock.acquire(new_root)
        self._close_handles()
        self._lock.release()
        self._lock = new_lock
        self.root, self._data = new_root, moved
        self.damage = {k: replace(d, root=new_root) for k, d in self.damage.items()}
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
            self._lock.release()

    # -- damage ----------------------------------------------------------------

    def report(self) -> list[str]:
        """What opening (or :meth:`check`) found, one line per image; empty if all is well."""
        lines = [r.line() for r in self.recovery.values()]
        return lines + [d.line() for d in self.damage.values()]

    def check(self, *, deep: bool = False, images: list[str] | None = None) -> list[LabelDamage]:
        """Look for lost labels again (of ``images``, or all); returns all damage known.

        ``deep`` also decodes every level-0 chunk file (slow: reads the labels).
        """
        return recovery.check(self, deep=deep, images=images)

    def accept_loss(self, image_id: str) -> str:
        """Go on without the damaged labels of ``image_id``; returns what was done.

        Damaged files are moved to ``<project>/damaged/<time>-<id>/`` (never
        deleted); lost chunks become unlabelled; the journal's edits since the
        last save are replayed on what is left; the project is saved.
        """
        return recovery.accept_loss(self, image_id)

    def _inspect(self, rec: ImageRecord) -> LabelDamage | None:
        """Known damage of an image, or a fresh look at its store (not when it is open)."""
        if rec.id in self.damage or rec.id in self._stores:
            return self.damage.get(rec.id)
        found = storecheck.inspect(self.label_store_path(rec.id), had_labels=rec.had_labels)
        if found is None:
            return None
        return self._damaged(rec, found.kind, found.detail, chunks=found.chunks)

    def _damaged(
        self,
        rec: ImageRecord,
        kind: DamageKind,
        detail: str,
        *,
        chunks: tuple[tuple[int, ...], ...] = (),
        files: tuple[Path, ...] = (),
    ) -> LabelDamage:
        damage = LabelDamage(rec.id, self._name(rec), kind, detail, self.root, chunks, files)
        self.damage[rec.id] = damage
        return damage

    def _forget(self, image_id: str) -> None:
        """Save and close the image's store and journal (its editor is dropped)."""
        if image_id not in self._stores:
            return
        self._stores[image_id].flush()
        self._journals[image_id].checkpoint()
        self._stores.pop(image_id).close()
        self._journals.pop(image_id).close()
        self._editors.pop(image_id, None)

    def _name(self, rec: ImageRecord) -> str:
        return Path(rec.path).name

    # -- internals -------------------------------------------------------------

    def _set_classes(self, classes: list[ClassInfo]) -> None:
        """Replace the class list in project.json at once (:mod:`.classedit` calls this)."""
        old = self._data.classes
        self._data.classes = list(classes)
        try:
            self._write_manifest()
        except ProjectError:
            self._data.classes = old
            raise
        for store in self._stores.values():
            store.classes = tuple(classes)

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
        slices = 0
        if rec.depth > 1 and store is not None:
            slices = store.labelled_slices
        elif rec.depth > 1:  # from the saved counts, without opening the store
            counts = storecheck.read_counts(self.label_store_path(rec.id))
            if counts is not None and counts.ndim == 3:
                slices = int(np.count_nonzero(counts.reshape(len(counts), -1).sum(axis=1)))
        return ImageEntry(
            rec.id, self._abs(rec), rec.path, rec.width, rec.height, fraction, rec.depth, slices
        )

    def _abs(self, rec: ImageRecord) -> Path:
        return Path(os.path.normpath(self.root / rec.path))

    def _rel(self, path: Path) -> str:
        return relative(path, self.root)

    def _new_id(self, stem: str) -> str:
        base = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in stem)
        base = base.lstrip(".")[:100] or "image"
        taken = {r.id for r in self._data.images}
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate
