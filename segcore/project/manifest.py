"""``project.json``: what a project holds, parsed and checked field by field.

Example::

    {
      "schema_version": 1,
      "name": "slides",
      "classes": [{"id": 0, "name": "tumour", "color": [230, 60, 60], "thing": true}],
      "images": [{"id": "slide-a", "path": "../data/slide-a.svs",
                  "width": 90000, "height": 60000, "labelled": 0.012}],
      "settings": {}
    }

Image paths are relative to the project directory (POSIX separators), so the
project and its images can move together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segcore.errors import LabelError, ProjectError
from segcore.labels.schema import ClassInfo

SCHEMA_VERSION = 1
FILE_NAME = "project.json"


@dataclass
class ImageRecord:
    """One image of a project as stored in ``project.json``."""

    id: str
    path: str  # relative to the project directory (or absolute on another drive)
    width: int
    height: int
    labelled: float = 0.0  # fraction labelled at the last save
    labelled_pixels: int = 0  # pixels labelled at the last save (a missing store is a loss)
    depth: int = 1  # slices of a volume whose labels are a label volume (absent: 1)

    @property
    def had_labels(self) -> bool:
        return self.labelled_pixels > 0 or self.labelled > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "labelled": round(self.labelled, 6),
            "labelled_pixels": self.labelled_pixels,
            **({"depth": self.depth} if self.depth > 1 else {}),
        }


@dataclass
class Manifest:
    """The content of ``project.json``."""

    name: str
    classes: list[ClassInfo]
    images: list[ImageRecord] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "classes": [c.to_json() for c in self.classes],
            "images": [i.to_json() for i in self.images],
            "settings": self.settings,
        }


def load(path: Path) -> Manifest:
    """Read and check ``project.json``.

    Raises
    ------
    ProjectError
        Naming the file and the bad field; or refusing a newer schema version.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ProjectError(f"{path} not found: this folder is not a Tessera project") from exc
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ProjectError(
            f"{path} is not valid JSON ({exc}); restore it from a backup or fix it by hand"
        ) from exc
    return parse(doc, path)


def parse(doc: Any, path: Path) -> Manifest:
    """Check a decoded ``project.json`` document (see :func:`load`)."""
    if not isinstance(doc, dict):
        raise _bad(path, "(top level)", "must be a JSON object")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad(path, "schema_version", f"must be a positive integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"{path} was written by a newer Tessera (project schema {version}; this version "
            f"reads up to {SCHEMA_VERSION}); update Tessera to open it. The file was not changed."
        )
    name = doc.get("name", path.parent.name)
    if not isinstance(name, str):
        raise _bad(path, "name", f"must be a string, got {name!r}")
    classes = _classes(doc.get("classes"), path)
    images = _images(doc.get("images", []), path)
    settings = doc.get("settings", {})
    if not isinstance(settings, dict):
        raise _bad(path, "settings", f"must be an object, got {type(settings).__name__}")
    return Manifest(name, classes, images, settings)


def _classes(raw: Any, path: Path) -> list[ClassInfo]:
    if not isinstance(raw, list) or not raw:
        raise _bad(path, "classes", "must be a non-empty list of classes")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _bad(path, f"classes[{i}]", "must be an object")
        try:
            info = ClassInfo.from_json(item)
        except LabelError as exc:
            raise _bad(path, f"classes[{i}]", str(exc)) from exc
        if not 0 <= info.id < 255:
            raise _bad(path, f"classes[{i}].id", f"must be 0..254, got {info.id}")
        out.append(info)
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        raise _bad(path, "classes", f"class ids must be unique, got {ids}")
    return out


def _images(raw: Any, path: Path) -> list[ImageRecord]:
    if not isinstance(raw, list):
        raise _bad(path, "images", "must be a list")
    out: list[ImageRecord] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"images[{i}]"
        if not isinstance(item, dict):
            raise _bad(path, where, "must be an object")
        for key, kind in (("id", str), ("path", str), ("width", int), ("height", int)):
            value = item.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise _bad(path, f"{where}.{key}", f"must be a {kind.__name__}, got {value!r}")
        if not valid_id(item["id"]) or item["id"] in seen:
            raise _bad(path, f"{where}.id", f"{item['id']!r} is not a unique file-safe id")
        if item["width"] < 1 or item["height"] < 1:
            raise _bad(path, f"{where}.width/height", "must be positive")
        labelled = item.get("labelled", 0.0)
        if not isinstance(labelled, int | float) or not 0 <= labelled <= 1:
            raise _bad(path, f"{where}.labelled", f"must be a number in 0..1, got {labelled!r}")
        pixels = item.get("labelled_pixels", 0)
        if not isinstance(pixels, int) or isinstance(pixels, bool) or pixels < 0:
            raise _bad(path, f"{where}.labelled_pixels", f"must be a count, got {pixels!r}")
        depth = item.get("depth", 1)
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise _bad(path, f"{where}.depth", f"must be a positive count, got {depth!r}")
        seen.add(item["id"])
        out.append(
            ImageRecord(
                item["id"],
                item["path"],
                item["width"],
                item["height"],
                float(labelled),
                pixels,
                depth,
            )
        )
    return out


def valid_id(text: str) -> bool:
    """Image ids name files: letters, digits, '-', '_', '.', not starting with '.'."""
    return (
        0 < len(text) <= 120
        and not text.startswith(".")
        and all(c.isascii() and (c.isalnum() or c in "-_.") for c in text)
    )


def _bad(path: Path, field_name: str, what: str) -> ProjectError:
    return ProjectError(
        f"{path}: field '{field_name}' {what}; fix the file or restore it from a backup"
    )
