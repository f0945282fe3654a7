"""What opening a project found, in words a user can act on.

:class:`JournalRecovery`: edits made after the last save that were replayed
from an image's journal, and how many could not be read. :class:`LabelDamage`:
labels that are gone (a missing store, missing or unreadable chunk files, an
unreadable journal), with what to do: put the files back from a backup, or
accept the loss with :meth:`Project.accept_loss` (``tessera project
accept-loss``, or the app's prompt when the image is opened). Nothing is ever
recreated empty without that choice.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from segcore.errors import LabelError, ProjectError
from segcore.labels import storecheck
from segcore.labels.store import LabelStore

if TYPE_CHECKING:
    from segcore.project.project import Project

DamageKind = Literal[
    "store missing",
    "store unreadable",
    "counts missing",
    "chunks missing",
    "chunks unreadable",
    "journal unreadable",
]
DAMAGED_DIR = "damaged"  # <project>/damaged/<time>-<image id>/: what accepting a loss moved


@dataclass(frozen=True)
class JournalRecovery:
    """Edits of one image replayed from its journal when the project was opened."""

    image_id: str
    image_name: str
    replayed: int
    lost: int = 0
    backup: Path | None = None

    def line(self) -> str:
        text = (
            f"{self.image_name}: {self.replayed} edit(s) made after the last save "
            "were recovered from the journal"
        )
        if self.lost:
            text += f"; {self.lost} could not be read (the journal was damaged)"
        if self.backup is not None:
            text += f"; the damaged journal is kept as {self.backup}"
        return text


@dataclass(frozen=True)
class LabelDamage:
    """Labels of one image that are gone, and what can be done about it."""

    image_id: str
    image_name: str
    kind: DamageKind
    detail: str
    root: Path
    chunks: tuple[tuple[int, ...], ...] = ()  # level-0 chunks lost: (row, column) or (z, row, col)
    files: tuple[Path, ...] = ()  # damaged files that accepting the loss moves aside

    @property
    def store_path(self) -> Path:
        return self.root / "labels" / f"{self.image_id}.zarr"

    @property
    def restore(self) -> str:
        """Which file or folder to put back from a backup."""
        if self.kind == "journal unreadable":
            return str(self.root / "journal" / f"{self.image_id}.journal")
        return str(self.store_path)

    def line(self) -> str:
        """One line: what is lost and both ways out."""
        return (
            f"labels of {self.image_name} (image '{self.image_id}'): {self.detail}; restore "
            f"{self.restore} from a backup and open the project again, or accept the loss "
            f"(in the app: open the image and choose Accept Loss; on the command line: "
            f"tessera project accept-loss {self.root} {self.image_id})"
        )


def keep_aside(root: Path, image_id: str, paths: list[Path]) -> Path | None:
    """Move ``paths`` (files or folders inside ``root``) to ``root/damaged/<time>-<id>/``.

    Relative paths are kept, so a file can be put back where it was. Returns
    the folder, or None when there was nothing to move.
    """
    paths = [p for p in paths if os.path.lexists(p)]
    if not paths:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = root / DAMAGED_DIR / f"{stamp}-{image_id}", 1
    while target.exists():
        n += 1
        target = root / DAMAGED_DIR / f"{stamp}-{image_id}-{n}"
    for path in paths:
        dest = target / path.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(dest))
    return target


# The two functions below are Project.check and Project.accept_loss, kept here
# so that project.py stays about opening, editing and saving.


def check(project: Project, *, deep: bool, images: list[str] | None) -> list[LabelDamage]:
    """See :meth:`Project.check`."""
    for rec in project._data.images:
        if images is not None and rec.id not in images:
            continue
        if project._inspect(rec) is not None or not deep:
            continue
        path = project.label_store_path(rec.id)
        if rec.id in project._stores:
            project._stores[rec.id].flush()
        bad = storecheck.unreadable_chunks(path) if path.exists() else []
        if bad:
            where = ", ".join(f"{layer}/0/c/{'/'.join(map(str, key))}" for layer, key, _ in bad[:3])
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            project._damaged(
                rec,
                "chunks unreadable",
                f"{len(bad)} chunk file(s) are damaged and cannot be read: {where}{more}",
                chunks=tuple(key for layer, key, _ in bad if layer == "semantic"),
                files=tuple(
                    path.joinpath(layer, "0", "c", *map(str, key)) for layer, key, _ in bad
                ),
            )
    return list(project.damage.values())


def accept_loss(project: Project, image_id: str) -> str:
    """See :meth:`Project.accept_loss`."""
    damage = project.damage.get(image_id)
    if damage is None:
        raise ProjectError(f"the labels of image {image_id!r} are not damaged: nothing to accept")
    project._forget(image_id)
    rec = project._record(image_id)
    moved = {
        "store unreadable": [damage.store_path],
        "journal unreadable": [project._journal_path(image_id)],
        "chunks unreadable": list(damage.files),
    }.get(damage.kind, [])
    try:
        kept = keep_aside(project.root, image_id, moved)
        if damage.kind in ("chunks missing", "chunks unreadable", "counts missing"):
            store = LabelStore.open(damage.store_path, expect_size=(rec.width, rec.height))
            if damage.kind == "counts missing":
                store.recount()
            else:
                store.forget_chunks(list(damage.chunks))
                inst = [_chunk_key(f) for f in damage.files if "instance" in f.parts]
                only = set(inst) - set(damage.chunks)
                store.forget_chunks(sorted(only), layers=("instance",))
            store.close()
    except (OSError, LabelError) as exc:
        raise ProjectError(f"could not accept the loss for image {image_id}: {exc}") from exc
    if damage.kind in ("store missing", "store unreadable"):
        rec.labelled, rec.labelled_pixels = 0.0, 0
    del project.damage[image_id]
    project.label_store(image_id)
    project.save()
    where = f"; the damaged files were moved to {kept}" if kept is not None else ""
    return (
        f"accepted the loss for {project._name(rec)} (image '{image_id}'): {damage.detail}{where}"
    )


def remove_litter(root: Path) -> None:
    """Temporary files of a save or a store creation cut short (we hold the lock)."""
    for pattern in (".project.json.*.tmp", "labels/*.zarr.creating", "journal/.*.journal.*.tmp"):
        for path in root.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _chunk_key(file: Path) -> tuple[int, ...]:
    """Chunk index of a level-0 chunk file ``<layer>/0/c/<i>/<j>[/<k>]``."""
    parts = file.parts
    return tuple(int(p) for p in parts[len(parts) - 1 - parts[::-1].index("c") + 1 :])
