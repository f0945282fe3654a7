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


def ask_project(parent: QWidget, start: str = "") -> Path | None:
    """A project's project.json, starting in folder ``start``; returns its folder."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Open Project", start, "Tessera project (project.json);;All files (*)"
    )
    return Path(path).parent if path else None


ADD_IMAGE = "Add this image to the project"


def ask_add_image(parent: QWidget, image: str, project: str) -> bool:
    """The image on screen is not in the open project: add it? (True: add)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Image not in the project")
    box.setText(f"{image} is not in project {project}, so it cannot be labelled yet.")
    box.setInformativeText(f"{ADD_IMAGE} to label it; its labels are kept with the project.")
    add = box.addButton(ADD_IMAGE, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is add


def ask_new_project(parent: QWidget, image: str) -> bool:
    """No project is open: create one for the image on screen? (True: create)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Labels need a project")
    box.setText(f"Labels of {image} are kept in a project, and none is open.")
    box.setInformativeText("Create a project with this image, or open one (File > Open Project).")
    new = box.addButton("New Project...", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is new


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


def show_open_report(parent: QWidget, lines: list[str], *, damaged: bool) -> None:
    """What opening the project found: recovered edits, edits or labels lost."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if damaged else QMessageBox.Icon.Information)
    box.setWindowTitle("Project opened")
    box.setText(
        "Some labels could not be recovered." if damaged else "Unsaved edits were recovered."
    )
    box.setInformativeText("\n\n".join(lines))
    box.exec()


def ask_accept_loss(parent: QWidget, line: str) -> bool:
    """Ask whether to go on without an image's lost labels (True: accept the loss)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Labels lost")
    box.setText("Some labels of this image are lost.")
    box.setInformativeText(
        line + "\n\nAccept Loss moves the damaged files to the project's 'damaged' folder "
        "and opens the image with the labels that are left."
    )
    accept = box.addButton("Accept Loss", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is accept


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
