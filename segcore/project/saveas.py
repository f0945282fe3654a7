"""Save As: copy a project's files to a new folder, complete or not at all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from segcore.errors import TesseraError
from segcore.project.atomic import atomic_write_json, disk_error
from segcore.project.images import relative
from segcore.project.manifest import FILE_NAME, ImageRecord, Manifest

if TYPE_CHECKING:
    from segcore.project.project import Project


def copy_project(project: Project, new_root: Path) -> Manifest:
    """Copy labels, models and unreplayed journals of a saved ``project`` to ``new_root``.

    The copy is made in ``.<name>.partial`` beside it and renamed when whole.
    Returns the manifest as it reads from the new folder.
    """
    tmp = new_root.with_name(f".{new_root.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        for sub in ("labels", "models"):
            shutil.copytree(project.root / sub, tmp / sub)
        (tmp / "journal").mkdir()
        for image_id in project.damage:  # their journals were not replayed: keep them
            journal = project._journal_path(image_id)
            if journal.is_file():
                shutil.copy2(journal, tmp / "journal" / journal.name)
        moved = Manifest(
            project._data.name,
            list(project._data.classes),
            [
                ImageRecord(
                    r.id,
                    relative(project._abs(r), new_root),
                    r.width,
                    r.height,
                    r.labelled,
                    r.labelled_pixels,
                    r.depth,
                )
                for r in project._data.images
            ],
            dict(project._data.settings),
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
    return moved
