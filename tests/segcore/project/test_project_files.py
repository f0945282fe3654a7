"""Projects: create, add images, relative paths, save as, missing images, bad project.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from segcore.errors import ProjectError
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.labels.edits.paint import paint_disk, paint_rectangle
from segcore.labels.schema import make_classes
from segcore.project import Project

CLASSES = make_classes(["background", "cell"], things={"cell"})


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"pixels")  # the size is passed explicitly below
    return path


def test_create_add_label_save_reopen(tmp_path: Path) -> None:
    img = _image(tmp_path / "data" / "slide one.tif")
    p = Project.create(tmp_path / "proj", classes=CLASSES)
    entry = p.add_image(img, width=300, height=200)
    assert entry.id == "slide-one" and entry.relpath == "../data/slide one.tif"
    assert entry.state == "ok" and entry.labelled_fraction == 0.0
    assert p.add_image(img, width=300, height=200).id == "slide-one"  # same file, same id
    second = p.add_image(_image(tmp_path / "data" / "slide_one.tif"), width=10, height=10)
    assert second.id == "slide_one"
    ed = p.editor("slide-one")
    ed.begin("brush")
    with pytest.raises(ProjectError, match="being drawn"):
        p.save()
    ed.extend(paint_rectangle, Box(0, 0, 30, 20), paint=ed.paint_for(1))
    ed.commit()
    assert p.image("slide-one").labelled_fraction == 600 / 60_000
    p.save()
    doc = json.loads((tmp_path / "proj" / "project.json").read_text())
    assert doc["schema_version"] == 1 and doc["images"][0]["labelled"] == 0.01
    assert doc["images"][0]["path"] == "../data/slide one.tif"
    assert (tmp_path / "proj" / "journal" / "slide-one.journal").stat().st_size == 8  # checkpoint
    p.close()
    again = Project.open(tmp_path / "proj")
    assert [i.id for i in again.images] == ["slide-one", "slide_one"]
    assert again.recovered == {}
    store = again.label_store("slide-one")
    assert (store.read("semantic", 0, 0, 30, 20) == 1).all()
    assert (store.read("instance", 0, 0, 30, 20) == 1).all() and store.max_instance == 1
    assert again.classes == CLASSES


def test_moving_the_folder_keeps_relative_paths(tmp_path: Path) -> None:
    root = tmp_path / "a"
    img = _image(root / "images" / "x.png")
    p = Project.create(root / "proj", classes=CLASSES)
    p.add_image(img, width=8, height=8)
    p.close()
    shutil.move(root, tmp_path / "b")
    moved = Project.open(tmp_path / "b" / "proj")
    assert moved.images[0].path == tmp_path / "b" / "images" / "x.png"
    assert moved.images[0].state == "ok"


def test_missing_image_and_relocate(tmp_path: Path, sample) -> None:  # type: ignore[no-untyped-def]
    img = tmp_path / "x.tif"
    shutil.copy(sample("nuclei_image"), img)
    p = Project.create(tmp_path / "proj", classes=CLASSES)
    entry = p.add_image(img)  # size read from the file
    assert (entry.id, entry.width, entry.height) == ("x", 512, 512)
    img.rename(tmp_path / "y.tif")
    assert p.images[0].state == "missing" and p.images[0].missing
    p.label_store("x").read("semantic", 0, 0, 8, 8)  # labels still open without the image
    with pytest.raises(ProjectError, match="no such file"):
        p.relocate("x", tmp_path / "nowhere.tif")
    with pytest.raises(ProjectError, match="900x900 pixels but image x was 512x512"):
        p.relocate("x", sample("spacenet_image"))
    (tmp_path / "junk.tif").write_bytes(b"not an image")
    with pytest.raises(ProjectError, match="junk.tif"):
        p.relocate("x", tmp_path / "junk.tif")
    with pytest.raises(ProjectError, match="junk.tif"):
        p.add_image(tmp_path / "junk.tif")
    entry = p.relocate("x", tmp_path / "y.tif")
    assert entry.state == "ok" and entry.relpath == "../y.tif"
    doc = json.loads((tmp_path / "proj" / "project.json").read_text())
    assert doc["images"][0]["path"] == "../y.tif" and len(doc["images"]) == 1
    with pytest.raises(ProjectError, match="no image 'z'"):
        p.label_store("z")


def test_save_as_copies_labels_and_continues_there(tmp_path: Path) -> None:
    img = _image(tmp_path / "x.png")
    p = Project.create(tmp_path / "one", classes=CLASSES)
    p.add_image(img, width=40, height=40)
    ed = p.editor("x")
    ed.apply(paint_disk, cx=10, cy=10, radius=3, paint=Paint(0))
    p.save_as(tmp_path / "deeper" / "two")
    assert p.root == tmp_path / "deeper" / "two"
    assert p.images[0].relpath == "../../x.png" and p.images[0].state == "ok"
    ed.apply(paint_disk, cx=30, cy=30, radius=3, paint=Paint(0))  # goes to the copy
    assert ed.undo() is not None and ed.undo() is not None  # history survives save as
    ed.redo()
    p.close()
    two = Project.open(tmp_path / "deeper" / "two")
    assert two.label_store("x").read("semantic", 10, 10, 1, 1)[0, 0] == 0
    two.close()
    one = Project.open(tmp_path / "one")
    store = one.label_store("x")
    assert store.read("semantic", 10, 10, 1, 1)[0, 0] == 0
    assert store.read("semantic", 30, 30, 1, 1)[0, 0] == 255
    with pytest.raises(ProjectError, match="not an empty folder"):
        one.save_as(tmp_path / "deeper")
    one.close()


def test_one_process_at_a_time(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "proj", classes=CLASSES)
    with pytest.raises(ProjectError, match="already open in another Tessera"):
        Project.open(tmp_path / "proj")
    p.close()
    Project.open(tmp_path / "proj").close()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("classes"), "classes"),
        (lambda d: d["classes"][0].update(color="red"), "classes[0]"),
        (lambda d: d["images"][0].update(width="wide"), "images[0].width"),
        (lambda d: d["images"][0].update(id="../evil"), "images[0].id"),
        (lambda d: d.update(schema_version="one"), "schema_version"),
        (lambda d: d.update(settings=[]), "settings"),
    ],
)
def test_corrupt_project_json_names_the_field(tmp_path: Path, change, field: str) -> None:  # type: ignore[no-untyped-def]
    p = Project.create(tmp_path / "proj", classes=CLASSES)
    p.add_image(_image(tmp_path / "x.png"), width=8, height=8)
    path = tmp_path / "proj" / "project.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(
        ProjectError, match=f"field '{field}'".replace("[", r"\[").replace("]", r"\]")
    ):
        Project.open(tmp_path / "proj")


def test_not_json_and_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="not a Tessera project"):
        Project.open(tmp_path)
    (tmp_path / "project.json").write_text("{oops")
    with pytest.raises(ProjectError, match="not valid JSON"):
        Project.open(tmp_path)
    with pytest.raises(ProjectError, match="not an empty folder"):
        Project.create(tmp_path, classes=CLASSES)


def test_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    Project.create(tmp_path / "proj", classes=CLASSES)
    path = tmp_path / "proj" / "project.json"
    doc = json.loads(path.read_text())
    doc["schema_version"] = 7
    doc["future_field"] = {"x": 1}
    text = json.dumps(doc)
    path.write_text(text)
    before = path.stat().st_mtime_ns
    with pytest.raises(ProjectError, match="newer Tessera.*schema 7"):
        Project.open(tmp_path / "proj")
    assert path.read_text() == text and path.stat().st_mtime_ns == before


def test_label_store_of_the_wrong_size(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "proj", classes=CLASSES)
    p.add_image(_image(tmp_path / "x.png"), width=8, height=8)
    p.label_store("x").write("semantic", 0, 0, np.zeros((2, 2), np.uint8))
    p.close()
    path = tmp_path / "proj" / "project.json"
    doc = json.loads(path.read_text())
    doc["images"][0]["width"] = 9
    path.write_text(json.dumps(doc))
    reopened = Project.open(tmp_path / "proj")
    with pytest.raises(ProjectError, match=r"8x8 pixels but its image is 9x8"):
        reopened.label_store("x")
    assert (tmp_path / "proj" / "labels" / "x.zarr" / "semantic" / "0" / "c" / "0" / "0").exists()
