"""Opening a project whose labels were damaged: the app says what was recovered and
what is lost, and opens a damaged image only after the user accepts the loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from annotate_helpers import CLASSES, labels, make_window, wait_editor, write_image

from app.project import commands
from segcore.labels.box import Box
from segcore.labels.edits.paint import paint_rectangle
from segcore.project import Project


def _damaged_project(tmp_path: Path) -> Path:
    """A saved project whose one image had labels in its only chunk, now deleted."""
    image = write_image(tmp_path / "cells.tif")
    root = tmp_path / "proj"
    p = Project.create(root, classes=CLASSES)
    p.add_image(image)
    ed = p.editor("cells")
    ed.apply(paint_rectangle, Box(2, 2, 4, 4), paint=ed.paint_for(2))
    p.close()
    (root / "labels" / "cells.zarr" / "semantic" / "0" / "c" / "0" / "0").unlink()
    return root


@pytest.mark.parametrize("accept", [False, True])
def test_lost_labels_are_shown_and_accepted_only_on_request(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: list[str], accept: bool
) -> None:
    root = _damaged_project(tmp_path)
    asked: list[str] = []

    def ask(parent: Any, line: str) -> bool:
        asked.append(line)
        return accept

    monkeypatch.setattr(commands, "ask_accept_loss", ask)
    window = make_window(qtbot)
    window.annotation.projects.open_project(root)
    assert any("could not be recovered" in d and "cells.tif" in d for d in dialogs)
    if accept:
        wait_editor(qtbot, window)
        assert (labels(window)[0] == 255).all()  # the lost chunk is unlabelled now
        assert not (root / "damaged").exists()  # nothing to move aside: the file was gone
    else:
        qtbot.waitUntil(lambda: bool(asked), timeout=15_000)
        assert window.annotation.ctx.editor is None
        assert not (root / "damaged").exists()
    assert len(asked) == 1 and "semantic/0/c/0/0" in asked[0]
    window.annotation.projects.close_project()
