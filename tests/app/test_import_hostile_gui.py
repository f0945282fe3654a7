"""File > Import Labels... with a hostile file: the dialog lists the record and the
field, and the project's labels stay as they were (issue #13: labelme points with
NaN or 1e12 were imported without a word, replacing the labels)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from annotate_helpers import HEIGHT, WIDTH, labels, make_window, open_project

from segcore.labels.box import Box
from segcore.labels.edits.paint import paint_rectangle


@pytest.mark.parametrize("bad", [float("nan"), 1e12])
def test_hostile_labelme_points_import_nothing(
    qtbot: Any, tmp_path: Path, dialogs: list[str], bad: float
) -> None:
    window = make_window(qtbot)
    open_project(qtbot, window, tmp_path)
    ctx = window.annotation.ctx
    assert ctx.editor is not None
    with ctx.lock:
        ctx.editor.apply(paint_rectangle, Box(2, 2, 5, 5), paint=ctx.editor.paint_for(2))
    before = labels(window)[0].copy()
    doc = {
        "shapes": [
            {"label": "cell", "points": [[1, 1], [bad, 1], [9, 9]], "shape_type": "polygon"}
        ],
        "imageHeight": HEIGHT,
        "imageWidth": WIDTH,
    }
    path = tmp_path / "cells.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    dialog = window.io.show_import()
    dialog.choose("labelme", path)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=15_000)
    assert dialog.report is None
    assert len(dialogs) == 1 and "cells.json shape #0" in dialogs[0]
    assert ("NaN" if bad != bad else "far outside") in dialogs[0]
    assert (labels(window)[0] == before).all()
