"""``tessera project classes``: each edit goes through the project's class edits, is saved,
and says what changed; bad input is one line, exit 2, nothing changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from segcore.cli import main
from segcore.labels.box import Box
from segcore.labels.edits.paint import paint_rectangle
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.project import Project


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    """Image a (12 x 8): background cols 0-3, cell cols 4-7 (one object), road cols 8-11,
    saved; image b never labelled."""
    for name in ("a", "b"):
        (tmp_path / f"{name}.tif").write_bytes(b"x")
    classes = make_classes(["background", "cell", "road"], things={"cell"})
    p = Project.create(tmp_path / "proj", classes=classes)
    p.add_image(tmp_path / "a.tif", width=12, height=8)
    p.add_image(tmp_path / "b.tif", width=12, height=8)
    ed = p.editor("a")
    for class_id, x in ((0, 0), (1, 4), (2, 8)):
        ed.apply(paint_rectangle, Box(x, 0, 4, 8), paint=ed.paint_for(class_id))
    p.close()
    return tmp_path / "proj"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["project", "classes", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _reopened(path: Path) -> tuple[list[tuple[int, str, bool]], np.ndarray, np.ndarray]:
    """Classes (id, name, thing) and image a's maps, read by opening the project anew."""
    p = Project.open(path)
    try:
        classes = [(c.id, c.name, c.thing) for c in p.classes]
        store = p.label_store("a")
        return classes, store.read("semantic", 0, 0, 12, 8), store.read("instance", 0, 0, 12, 8)
    finally:
        p.close(save=False)


def test_list_shows_ids_colours_kinds_and_pixel_counts(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(proj), "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "name", "colour", "kind", "pixels"]
    assert lines[1].split() == ["0", "background", "#606068", "stuff", "32"]
    assert lines[2].split()[1:] == ["cell", lines[2].split()[2], "thing", "32"]
    assert lines[3].split()[1::2] == ["road", "stuff"] and lines[3].split()[-1] == "32"


def test_delete_unlabels_its_pixels_on_disk(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(proj), "delete", "cell")
    assert (code, out) == (0, "deleted class 1 'cell' (32 pixels unlabelled)\n")
    classes, sem, inst = _reopened(proj)
    assert classes == [(0, "background", False), (1, "road", False)]
    assert (sem[:, :4] == 0).all() and (sem[:, 4:8] == UNLABELLED).all()
    assert (sem[:, 8:] == 1).all() and (inst == 0).all()
    assert not list((proj / "journal").glob("*.journal.damaged-*"))


def test_delete_merges_into_another_class_by_id(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(proj), "delete", "road", "--merge-into", "0")
    assert (code, out) == (0, "deleted class 2 'road' (32 pixels merged into 'background')\n")
    classes, sem, _ = _reopened(proj)
    assert classes == [(0, "background", False), (1, "cell", True)]
    assert (sem[:, :4] == 0).all() and (sem[:, 4:8] == 1).all() and (sem[:, 8:] == 0).all()
    code, out, _ = _run(capsys, str(proj), "list")
    assert out.splitlines()[1].split()[-1] == "64"


def test_add_rename_colour_kind_and_move_reach_a_reopened_project(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [
        (("add", "water", "--color", "#102030"), "added class 3 'water' (#102030, stuff)"),
        (
            ("rename", "CELL", "nucleus"),
            "renamed class 1 'cell' to 'nucleus' (old name kept as an alias)",
        ),
        (("color", "3", "40a0ff"), "recoloured class 3 'water' from #102030 to #40A0FF"),
        (("thing", "road"), "made class 2 'road' thing"),
        (("stuff", "nucleus"), "made class 1 'nucleus' stuff (32 pixels lose their object ids)"),
        (
            ("move", "road", "0"),
            "moved class 'road' from 2 to 0 (now: 0 road, 1 background, 2 nucleus, 3 water)",
        ),
    ]
    for argv, said in steps:
        code, out, err = _run(capsys, str(proj), *argv)
        assert (code, out, err) == (0, said + "\n", "")
    classes, sem, inst = _reopened(proj)
    assert classes == [
        (0, "road", True),
        (1, "background", False),
        (2, "nucleus", False),
        (3, "water", False),
    ]
    assert (sem[:, :4] == 1).all() and (sem[:, 4:8] == 2).all() and (sem[:, 8:] == 0).all()
    assert (inst[:, 4:8] == 0).all()  # stuff now: the object is gone
    saved = json.loads((proj / "project.json").read_text())
    nucleus = next(c for c in saved["classes"] if c["name"] == "nucleus")
    assert nucleus["aliases"] == ["cell"] and saved["classes"][3]["color"] == [64, 160, 255]
    code, out, _ = _run(capsys, str(proj), "list")
    assert out.splitlines()[3].split()[-1] == "cell"  # the "was" column


def test_an_edit_that_changes_nothing_says_so(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (proj / "project.json").read_bytes()
    assert _run(capsys, str(proj), "thing", "cell")[1] == (
        "class 1 'cell' is thing already; nothing changed\n"
    )
    assert _run(capsys, str(proj), "move", "road", "2")[0] == 0
    assert (proj / "project.json").read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("rename", "nope", "x"), "no class 'nope' (name or id; the classes are: 0 background"),
        (("delete", "7"), "no class '7'"),
        (("color", "road", "#12345"), "bad colour '#12345': give it as #RRGGBB"),
        (("color", "road", "red"), "bad colour 'red'"),
        (("add", "Cell"), "there is a class 'Cell' already"),
        (("add", "  "), "a class needs a name"),
        (("rename", "road", "background"), "there is a class 'background' already"),
        (("move", "road", "3"), "position 3 is outside 0..2"),
        (("delete", "road", "--merge-into", "road"), "cannot merge class 'road' into itself"),
        (("delete", "road", "--merge-into", "sky"), "no class 'sky'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    proj: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], says: str
) -> None:
    before = (proj / "project.json").read_bytes()
    code, out, err = _run(capsys, str(proj), *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and str(proj) in err and says in err
    assert (proj / "project.json").read_bytes() == before
    classes, sem, _ = _reopened(proj)
    assert [n for _, n, _ in classes] == ["background", "cell", "road"]
    assert (sem[:, 8:] == 2).all()


def test_deleting_the_last_class_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Project.create(tmp_path / "one", classes=make_classes(["background"])).close()
    before = (tmp_path / "one" / "project.json").read_bytes()
    code, out, err = _run(capsys, str(tmp_path / "one"), "delete", "background")
    assert (code, out) == (2, "")
    assert "needs at least one class" in err and len(err.splitlines()) == 1
    assert (tmp_path / "one" / "project.json").read_bytes() == before


def test_a_project_open_elsewhere_is_refused(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = Project.open(proj)  # holds the lock, as the app would
    try:
        before = (proj / "project.json").read_bytes()
        code, out, err = _run(capsys, str(proj), "delete", "road")
        assert (code, out) == (2, "")
        assert "already open" in err and len(err.splitlines()) == 1
        assert (proj / "project.json").read_bytes() == before
    finally:
        holder.close(save=False)


def test_a_missing_project_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(tmp_path / "nowhere"), "list")
    assert (code, out) == (2, "") and len(err.splitlines()) == 1
    assert not (tmp_path / "nowhere").exists()


def test_a_change_that_renumbers_is_refused_while_labels_are_damaged(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(proj / "labels" / "a.zarr")  # image a's labels are lost (not yet accepted)
    before = (proj / "project.json").read_bytes()
    for argv in (("delete", "road"), ("move", "road", "0"), ("stuff", "cell")):
        code, out, err = _run(capsys, str(proj), *argv)
        assert (code, out) == (2, "")
        assert "labels of a are damaged" in err.splitlines()[-1]  # after the opening note
        assert (proj / "project.json").read_bytes() == before
    code, out, _ = _run(capsys, str(proj), "rename", "road", "street")  # ids unchanged: allowed
    assert code == 0 and "street" in out
