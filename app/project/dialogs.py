"""The dialogs of the project commands, and reading class names typed by the user.

Each ``ask_*`` function wraps one standard Qt dialog (tests patch the Qt
static methods they call).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from segcore.labels.schema import ClassInfo, make_classes
from segcore.project import ImageEntry

DEFAULT_CLASSES = "background\nobject *"
FOLDER_FILTER = "Tessera project folder (*)"


def ask_folder(parent: QWidget, title: str) -> Path | None:
    """A new (or empty) folder for a project."""
    path, _ = QFileDialog.getSaveFileName(parent, title, "", FOLDER_FILTER)
    return Path(path) if path else None


def ask_project(parent: QWidget) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Open Project", "", "Tessera project (project.json);;All files (*)"
    )
    return Path(path).parent if path else None


def ask_classes(parent: QWidget, default: str) -> str | None:
    text, ok = QInputDialog.getMultiLineText(
        parent,
        "Classes of the new project",
        "One class per line. End a name with * for a thing class\n"
        "(countable objects with instances, e.g. 'cell *').",
        default,
    )
    return text if ok else None


def ask_images(parent: QWidget, image_filter: str) -> list[Path]:
    paths, _ = QFileDialog.getOpenFileNames(parent, "Add Images to Project", "", image_filter)
    return [Path(p) for p in paths]


def ask_locate(parent: QWidget, entry: ImageEntry, image_filter: str) -> Path | None:
    """Ask the user to find a missing image; None if they decline."""
    answer = QMessageBox.question(
        parent,
        "Image not found",
        f"The image '{entry.id}' is not at\n{entry.path}\n\nLocate it now?",
    )
    if answer != QMessageBox.StandardButton.Yes:
        return None
    path, _ = QFileDialog.getOpenFileName(parent, f"Locate {entry.path.name}", "", image_filter)
    return Path(path) if path else None


def parse_classes(text: str, known: Sequence[ClassInfo] = ()) -> list[ClassInfo]:
    """Classes from one name per line ('cell *' = thing); colours of ``known`` names kept.

    Raises
    ------
    LabelError
        If there is no name, or a name repeats.
    """
    names, things = [], set()
    for line in text.splitlines():
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if name.endswith("*"):
            name = name[:-1].strip()
            things.add(name)
        names.append(name)
    classes = make_classes(names, things)
    colours = {c.name: c.color for c in known}
    return [ClassInfo(c.id, c.name, colours.get(c.name, c.color), c.thing) for c in classes]


def classes_text(classes: Sequence[ClassInfo]) -> str:
    return "\n".join(f"{c.name} *" if c.thing else c.name for c in classes)
