"""Export from a project and import into one: classes by name, mapping, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from formats_cases import CLASSES
from PIL import Image

from segcore.errors import FormatError
from segcore.formats.base import ExportItem, Imported, LabelImage
from segcore.formats.exporter import export
from segcore.formats.project_io import classes_to_map, import_into_project, project_items
from segcore.formats.registry import import_labels
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.schema import ClassInfo
from segcore.project import Project


def make_project(tmp_path: Path, names: tuple[str, ...] = ("a", "b")) -> Project:
    project = Project.create(tmp_path / "proj", classes=CLASSES)
    for name in names:
        path = tmp_path / f"{name}.png"
        Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save(path)
        project.add_image(path)
    return project


def labels_a() -> LabelImage:
    classes = np.full((12, 16), 255, np.uint8)
    instances = np.zeros((12, 16), np.uint32)
    classes[2:6, 3:9], instances[2:6, 3:9] = 2, 1
    classes[8:12, :] = 0
    return LabelImage("a", classes, instances)


def test_import_then_export_from_project(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    store = project.label_store(project.images[0].id)
    store.write("instance", 0, 0, np.full((1, 1), 41, np.uint32))  # an earlier object id
    store.write("semantic", 0, 0, np.full((1, 1), 3, np.uint8))
    image = labels_a()
    report = import_into_project(project, Imported(CLASSES, [image]))
    assert report.images == {"a": project.images[0].id}
    assert report.labelled_pixels == 24 + 64
    got_c = store.read("semantic", 0, 0, 16, 12)
    got_i = store.read("instance", 0, 0, 16, 12)
    assert np.array_equal(got_c, image.classes)  # replaced, the old pixel too
    assert set(np.unique(got_i).tolist()) == {0, 42}  # shifted past the store's highest id
    items = project_items(project)
    assert [i.name for i in items] == ["a", "b"] and items[0].image_file == "a.png"
    out = tmp_path / "coco"
    run_to_end(export(items, "coco", out))
    back = import_labels("coco", out)
    assert np.array_equal(back.images[0].classes, image.classes)
    assert not (back.images[1].classes != 255).any()
    project.close()


def test_classes_are_matched_by_name_and_mapped(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    foreign = [
        ClassInfo(0, "auto", (1, 2, 3), True),
        ClassInfo(1, "person", (0, 0, 0), True),
        ClassInfo(2, "sky", (0, 0, 9)),
    ]
    classes = np.full((12, 16), 255, np.uint8)
    classes[0, 0:3] = [0, 1, 2]
    imported = Imported(foreign, [LabelImage("b", classes, np.zeros((12, 16), np.uint32))])
    assert classes_to_map(imported, project.classes) == ["auto", "sky"]
    with pytest.raises(FormatError) as info:
        import_into_project(project, imported)
    assert len(info.value.problems) == 2 and "'auto'" in info.value.problems[0]
    import_into_project(project, imported, mapping={"auto": "car", "sky": None})
    row = project.label_store(project.images[1].id).read("semantic", 0, 0, 3, 1)
    assert row.tolist() == [[2, 3, 255]]
    project.close()


def test_a_failed_import_changes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    store_a = project.label_store(project.images[0].id)
    store_a.write("semantic", 0, 0, np.full((2, 2), 1, np.uint8))
    before = store_a.read("semantic", 0, 0, 16, 12).copy()
    wrong = LabelImage.empty("b", 5, 5)  # the image is 16 x 12
    missing = LabelImage.empty("zz", 12, 16)
    with pytest.raises(FormatError) as info:
        import_into_project(project, Imported(CLASSES, [labels_a(), wrong, missing]))
    assert info.value.problems == [
        "b: mask is 5 x 5 but the image is 16 x 12",
        "zz: no project image with this name; add the image first",
    ]
    assert np.array_equal(store_a.read("semantic", 0, 0, 16, 12), before)
    project.close()


def test_a_write_failure_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    ids = [e.id for e in project.images]
    store_b = project.label_store(ids[1])
    calls = {"n": 0}
    original = type(store_b).write

    def failing(self, layer, x, y, array, **kw):  # type: ignore[no-untyped-def]
        if self is store_b and calls["n"] == 0:
            calls["n"] += 1
            raise OSError("disk full")
        return original(self, layer, x, y, array, **kw)

    monkeypatch.setattr(type(store_b), "write", failing)
    b = labels_a()
    b.name = "b"
    with pytest.raises(FormatError, match="undone: disk full"):
        import_into_project(project, Imported(CLASSES, [labels_a(), b]))
    store_a = project.label_store(ids[0])
    assert (store_a.read("semantic", 0, 0, 16, 12) == 255).all()
    assert not store_a.read("instance", 0, 0, 16, 12).any()
    project.close(save=False)


def test_merge_keeps_existing_labels(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    store = project.label_store(project.images[0].id)
    store.write("semantic", 0, 0, np.full((1, 16), 1, np.uint8))
    import_into_project(project, Imported(CLASSES, [labels_a()]), merge=True)
    got = store.read("semantic", 0, 0, 16, 12)
    assert (got[0] == 1).all() and (got[8:] == 0).all()
    project.close()


def test_array_labels_export_item_matches_store_labels(tmp_path: Path) -> None:
    project = make_project(tmp_path, ("a",))
    import_into_project(project, Imported(CLASSES, [labels_a()]))
    (item,) = project_items(project)
    ref = ArrayLabels(labels_a().classes, CLASSES)
    assert np.array_equal(
        item.labels.read("semantic", 4, 2, 30, 30), ref.read("semantic", 4, 2, 30, 30)
    )
    assert isinstance(item, ExportItem)
    project.close()


def test_a_closed_import_job_puts_the_labels_back(tmp_path: Path) -> None:
    from segcore.formats.project_io import import_job

    project = make_project(tmp_path, ("a",))
    store = project.label_store(project.images[0].id)
    before = store.read("semantic", 0, 0, 16, 12).copy()
    job = import_job(project, Imported(CLASSES, [labels_a()]), window=4)
    step = next(job)  # the first window is written
    assert 0 < step.done < step.total
    assert not np.array_equal(store.read("semantic", 0, 0, 16, 12), before)
    job.close()  # cancelled: every window written goes back
    np.testing.assert_array_equal(store.read("semantic", 0, 0, 16, 12), before)
    project.close()
