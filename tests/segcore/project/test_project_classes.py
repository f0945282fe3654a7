"""Class editing of a project: add, rename, recolour, thing/stuff, reorder, delete (unlabel
or merge), each one undo step, journalled, surviving a crash; models matched by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.classmatch import Relabelled, lookup
from segcore.labels.edits.paint import paint_rectangle
from segcore.labels.schema import UNLABELLED, ClassInfo, make_classes
from segcore.project import Project

CLASSES = make_classes(["background", "cell", "debris"], things={"cell"})


def _project(tmp_path: Path) -> Project:
    """Image a (12 x 8): bg cols 0-3, cell cols 4-7 (object), debris cols 8-11; image b empty."""
    for name in ("a", "b"):
        (tmp_path / f"{name}.tif").write_bytes(b"x")
    p = Project.create(tmp_path / "proj", classes=CLASSES)
    p.add_image(tmp_path / "a.tif", width=12, height=8)
    p.add_image(tmp_path / "b.tif", width=12, height=8)
    ed = p.editor("a")
    for class_id, x in ((0, 0), (1, 4), (2, 8)):
        ed.apply(paint_rectangle, Box(x, 0, 4, 8), paint=ed.paint_for(class_id))
    return p


def _maps(p: Project, image_id: str = "a") -> tuple[np.ndarray, np.ndarray]:
    store = p.label_store(image_id)
    return store.read("semantic", 0, 0, 12, 8), store.read("instance", 0, 0, 12, 8)


def _names(p: Project) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in p.classes]


def test_delete_unlabels_its_pixels_and_renumbers_the_rest(tmp_path: Path) -> None:
    p = _project(tmp_path)
    p.class_edits.delete(1)
    assert _names(p) == [(0, "background"), (1, "debris")]
    sem, inst = _maps(p)
    assert (sem[:, :4] == 0).all() and (sem[:, 4:8] == UNLABELLED).all()
    assert (sem[:, 8:] == 1).all() and (inst == 0).all()
    saved = json.loads((p.root / "project.json").read_text())
    assert [c["name"] for c in saved["classes"]] == ["background", "debris"]
    assert not p.editor("a").can_undo  # stroke records hold the old ids
    assert p.class_edits.undo() is not None  # one step: classes and pixels back
    assert _names(p) == [(0, "background"), (1, "cell"), (2, "debris")]
    sem, inst = _maps(p)
    assert (sem[:, 4:8] == 1).all() and (inst[:, 4:8] == 1).all() and (sem[:, 8:] == 2).all()
    p.class_edits.redo()
    assert _names(p) == [(0, "background"), (1, "debris")]
    p.close()


def test_delete_merges_into_another_class(tmp_path: Path) -> None:
    p = _project(tmp_path)
    p.class_edits.delete(2, merge_into=0)
    sem, _ = _maps(p)
    assert (sem[:, :4] == 0).all() and (sem[:, 4:8] == 1).all() and (sem[:, 8:] == 0).all()
    with pytest.raises(LabelError, match="into itself"):
        p.class_edits.delete(0, merge_into=0)
    p.close()


def test_the_change_is_in_the_journal_and_survives_a_crash(tmp_path: Path) -> None:
    p = _project(tmp_path)
    p.save()
    p.class_edits.delete(1, merge_into=2)
    p.close(save=False)  # as if killed: the store was never flushed after the change
    again = Project.open(tmp_path / "proj")
    assert again.recovered["a"] == 1  # one journal record: the whole remap of image a
    assert _names(again) == [(0, "background"), (1, "debris")]
    sem, inst = _maps(again)
    assert (sem[:, 4:] == 1).all() and (inst == 0).all()  # debris is stuff: objects gone
    again.close()


def test_move_reorders_ids_and_labels_follow(tmp_path: Path) -> None:
    p = _project(tmp_path)
    p.class_edits.move(2, 0)
    assert _names(p) == [(0, "debris"), (1, "background"), (2, "cell")]
    sem, inst = _maps(p)
    assert (sem[:, :4] == 1).all() and (sem[:, 4:8] == 2).all() and (sem[:, 8:] == 0).all()
    assert (inst[:, 4:8] == 1).all()  # the cell keeps its object
    p.close()


def test_add_rename_recolour_and_kind(tmp_path: Path) -> None:
    p = _project(tmp_path)
    added = p.class_edits.add("vessel", thing=True)
    assert (added.id, added.thing) == (3, True) and added.color != (0, 0, 0)
    with pytest.raises(LabelError, match="already"):
        p.class_edits.add("Vessel")
    renamed = p.class_edits.rename(1, "nucleus")
    assert renamed.aliases == ("cell",)
    assert p.class_edits.recolor(1, (1, 2, 3)).color == (1, 2, 3)
    assert p.editor("a").can_undo  # no pixel changed: stroke history kept
    p.class_edits.set_thing(1, False)
    _, inst = _maps(p)
    assert (inst == 0).all()  # stuff has no objects
    p.class_edits.undo()
    _, inst = _maps(p)
    assert (inst[:, 4:8] == 1).all()
    p.class_edits.undo()
    assert p.classes[1].color != (1, 2, 3)
    p.close()
    reopened = Project.open(tmp_path / "proj")
    assert reopened.classes[1] == ClassInfo(1, "nucleus", renamed.color, True, ("cell",))
    reopened.close()


def test_undo_waits_for_strokes_made_after_the_change(tmp_path: Path) -> None:
    p = _project(tmp_path)
    p.class_edits.delete(0)
    ed = p.editor("a")
    ed.apply(paint_rectangle, Box(0, 0, 2, 2), paint=ed.paint_for(0))
    with pytest.raises(LabelError, match="undo those edits first"):
        p.class_edits.undo()
    ed.undo()
    p.class_edits.undo()
    assert _names(p)[0] == (0, "background")
    p.close()


def test_models_are_matched_by_name_after_a_change(tmp_path: Path) -> None:
    p = _project(tmp_path)
    model_classes = tuple(CLASSES)  # a model trained before the change
    p.class_edits.move(2, 0)
    p.class_edits.rename(2, "nucleus")  # was "cell"
    table = lookup(p.classes, model_classes)
    assert table[:3].tolist() == [2, 0, 1]  # project id -> the model's channel
    seen = Relabelled(p.label_store("a"), table, model_classes)
    assert (seen.read("semantic", 0, 0, 12, 8) == _maps_before()).all()
    p.close()


def _maps_before() -> np.ndarray:
    sem = np.empty((8, 12), np.uint8)
    sem[:, :4], sem[:, 4:8], sem[:, 8:] = 0, 1, 2
    return sem


def test_default_background_is_not_red() -> None:
    bg = make_classes(["background", "cell"])[0].color
    assert bg[0] < 150 and abs(bg[0] - bg[1]) < 30  # grey, not an alarm colour
    first = make_classes(["tumour", "stroma"])[0].color
    assert not (first[0] > 200 and first[1] < 100 and first[2] < 100)
