"""File > Export Labels... and File > Import Labels...: real files through the dialogs,
cancel leaves nothing behind, an import with a class mapping lands in the project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from annotate_helpers import CLASSES, HEIGHT, WIDTH, labels, make_window, open_project
from PIL import Image
from PySide6.QtWidgets import QDialog

from app.export_dialog import PROJECT, ExportDialog
from app.import_dialog import ClassMappingDialog, ImportDialog
from app.window import MainWindow
from segcore.formats.base import ExportItem
from segcore.formats.exporter import export
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.schema import UNLABELLED, make_classes

CELL, DEBRIS = 1, 2


def scene() -> tuple[np.ndarray, np.ndarray]:
    """Background everywhere, two cells (instances 1, 2) and a debris strip."""
    sem = np.zeros((HEIGHT, WIDTH), np.uint8)
    inst = np.zeros((HEIGHT, WIDTH), np.uint32)
    sem[10:26, 20:36], inst[10:26, 20:36] = CELL, 1
    sem[30:40, 5:15], inst[30:40, 5:15] = CELL, 2
    sem[0:5, 50:64] = DEBRIS
    return sem, inst


def labelled_window(qtbot: Any, tmp_path: Path) -> MainWindow:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    sem, inst = scene()
    ctx = window.annotation.ctx
    assert ctx.editor is not None
    with ctx.lock:
        ctx.editor.store.write("semantic", 0, 0, sem)
        ctx.editor.store.write("instance", 0, 0, inst)
    return window


def run_export(qtbot: Any, window: MainWindow, name: str, out: Path, **kw: Any) -> ExportDialog:
    dialog = window.io.show_export()
    dialog.choose(name, out, **kw)
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: not dialog.running, timeout=15_000)
    return dialog


def test_export_coco_and_png_through_the_dialog(qtbot: Any, tmp_path: Path) -> None:
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    window = labelled_window(qtbot, tmp_path)
    sem, inst = scene()
    window.actions_by_name["export_labels"].trigger()
    dialog = window.io.export_dialog
    assert dialog is not None and dialog.isVisible()

    coco_dir = tmp_path / "coco"
    run_export(qtbot, window, "coco", coco_dir)
    assert dialog.paths == [coco_dir / "annotations.json"]
    coco = COCO(str(coco_dir / "annotations.json"))
    assert [i["file_name"] for i in coco.dataset["images"]] == ["cells.tif"]
    assert {c["name"]: c["id"] for c in coco.dataset["categories"]}["cell"] == CELL + 1
    cells = coco.loadAnns(coco.getAnnIds(catIds=[CELL + 1]))
    masks = sorted((mask_utils.decode(a["segmentation"]) for a in cells), key=lambda m: m.sum())
    assert [int(m.sum()) for m in masks] == [100, 256]
    np.testing.assert_array_equal(masks[0], inst == 2)
    np.testing.assert_array_equal(masks[1], inst == 1)

    png_dir = tmp_path / "png"
    run_export(qtbot, window, "png", png_dir, scope=PROJECT)
    with Image.open(png_dir / "cells.png") as image:
        assert image.mode == "P"
        np.testing.assert_array_equal(np.asarray(image), sem)
        palette = image.getpalette() or []
    assert tuple(palette[3 * DEBRIS : 3 * DEBRIS + 3]) == CLASSES[DEBRIS].color
    assert "Wrote" in dialog.message.text()


def test_cancel_mid_export_leaves_no_files(qtbot: Any, tmp_path: Path) -> None:
    window = labelled_window(qtbot, tmp_path)
    out = tmp_path / "cancelled"
    dialog = window.io.show_export()
    dialog.choose("coco", out)
    lock = window.session.document.labels_lock  # type: ignore[union-attr]
    with lock:  # the export blocks on its first read: cancel lands mid-run
        worker = dialog.start()
        assert worker is not None and dialog.running
        dialog.cancel_or_close()
    qtbot.waitUntil(lambda: not dialog.running, timeout=15_000)
    assert dialog.paths == []
    assert not out.exists() or list(out.rglob("*")) == []
    assert dialog.message.text() == "Cancelled; nothing was written."
    assert dialog.cancel_button.text() == "Close"


def test_export_without_a_folder_says_so(qtbot: Any, tmp_path: Path) -> None:
    window = labelled_window(qtbot, tmp_path)
    dialog = window.io.show_export()
    dialog.folder.setText("")
    assert dialog.start() is None
    assert "folder" in dialog.message.text()


def foreign_coco(folder: Path) -> Path:
    """A COCO dataset for image "cells" whose classes are background, cell and junk."""
    classes = make_classes(["background", "cell", "junk"], {"cell"})
    sem, inst = scene()
    sem[0:5, 50:64] = UNLABELLED
    sem[40:48, 40:64] = 2  # junk
    item = ExportItem("cells", ArrayLabels(sem, classes, inst), image_file="cells.tif")
    run_to_end(export([item], "coco", folder))
    return folder / "annotations.json"


def test_import_coco_with_a_class_mapping(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    path = foreign_coco(tmp_path / "dataset")
    asked: list[list[str]] = []

    def answer(dialog: ClassMappingDialog) -> int:
        asked.append(list(dialog.combos))
        dialog.choose("junk", "debris")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ClassMappingDialog, "exec", answer)
    window.actions_by_name["import_labels"].trigger()
    dialog = window.io.import_dialog
    assert isinstance(dialog, ImportDialog)
    dialog.choose("coco", path)
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: dialog.report is not None and not dialog.running, timeout=15_000)
    assert asked == [["junk"]]
    assert dialog.report is not None and dialog.report.images == {"cells": "cells"}

    sem, inst = labels(window)  # the editor is back on the image, reading the new labels
    expected, source_inst = scene()
    expected[0:5, 50:64] = UNLABELLED
    expected[40:48, 40:64] = DEBRIS
    np.testing.assert_array_equal(sem, expected)
    assert sorted(np.unique(inst).tolist()) == [0, 1, 2]
    np.testing.assert_array_equal(inst > 0, source_inst > 0)
    assert "Imported 1 image(s)" in dialog.message.text()


def test_import_cancelled_at_the_mapping_writes_nothing(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    path = foreign_coco(tmp_path / "dataset")
    monkeypatch.setattr(ClassMappingDialog, "exec", lambda d: QDialog.DialogCode.Rejected)
    dialog = window.io.show_import()
    dialog.choose("coco", path)
    dialog.start()
    qtbot.waitUntil(lambda: "cancelled" in dialog.message.text(), timeout=15_000)
    qtbot.waitUntil(lambda: not dialog.running, timeout=15_000)
    sem, inst = labels(window)
    assert (sem == UNLABELLED).all() and not inst.any()


def test_import_of_a_broken_file_reports_every_problem(
    qtbot: Any, tmp_path: Path, dialogs: list[str]
) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    dialog = window.io.show_import()
    dialog.choose("coco", bad)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=15_000)
    assert dialog.report is None
    assert len(dialogs) == 1 and dialogs[0].startswith("Could not import the labels")
    assert "bad.json" in dialogs[0]
    assert dialog.message.text() == "Nothing was imported; the project is as it was."
    sem, _ = labels(window)
    assert (sem == UNLABELLED).all()


def test_import_needs_a_project(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    dialog = window.io.show_import()
    dialog.choose("coco", tmp_path / "x.json")
    assert dialog.start() is None
    assert "project" in dialog.message.text()


def test_export_dialog_never_replaces_the_image_or_an_earlier_export(
    qtbot: Any, tmp_path: Path, dialogs: list[str]
) -> None:
    """Issue #13: a GeoTIFF export into the image's folder wrote the mask over the image."""
    import hashlib

    window = labelled_window(qtbot, tmp_path)
    image = tmp_path / "cells.tif"
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    dialog = run_export(qtbot, window, "geotiff", tmp_path)
    assert dialog.paths == []
    assert "cells.tif" in dialogs[-1] and "its own inputs" in dialogs[-1]
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before

    out = tmp_path / "masks"
    run_export(qtbot, window, "png", out)
    first = (out / "cells.png").read_bytes()
    dialog = run_export(qtbot, window, "png", out)  # again: the folder is in use
    assert dialog.paths == [] and "already exists" in dialogs[-1]
    dialog.overwrite.setChecked(True)
    run_export(qtbot, window, "png", out)
    assert dialog.paths == [out / "cells.png", out / "classes.json"]
    assert (out / "cells.png").read_bytes() == first  # same labels, written anew
