"""File > Open Bands...: pick one file per band, save them as one VRT, open it.

The stacking is segcore's (:func:`segcore.io.stack.stack_bands`: a GDAL VRT,
no pixel copied, nodata per band kept); it reads every file's header, so it
runs in a job. Files that are not on one pixel grid are refused in the one
error dialog, naming the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from app.actions import make_action
from app.context import AppContext

BAND_FILTER = "Band files (*.tif *.tiff *.TIF *.jp2 *.vrt);;All files (*)"


def default_output(paths: list[Path]) -> Path:
    """``<common start of the names>_stack.vrt`` beside the first file.

    >>> default_output([Path("/d/LC08_SR_B4.TIF"), Path("/d/LC08_SR_B3.TIF")]).name
    'LC08_SR_stack.vrt'
    """
    stems = [p.name.split(".")[0] for p in paths]
    common = os.path.commonprefix(stems)
    common = re.sub(r"[_\-. ]*B\d*$", "", common).rstrip("_-. ")  # ..._B04, ..._B03: "..."
    return paths[0].parent / f"{common or 'bands'}_stack.vrt"


class OpenBands(QObject):
    """Asks for the band files and the VRT's name, stacks them in a job, opens the VRT."""

    def __init__(self, context: AppContext, open_path: Callable[[Path], object]) -> None:
        super().__init__(context.shell.widget)
        self.context, self.open_path = context, open_path
        self.job = context.jobs.slot("stack the band files", returned=self._stacked)
        self.action: QAction | None = None

    def choose(self) -> None:
        parent = self.context.shell.widget
        names, _ = QFileDialog.getOpenFileNames(
            parent, "Open Bands: choose one file per band, in order", "", BAND_FILTER
        )
        if not names:
            return
        paths = [Path(n) for n in names]
        out, _ = QFileDialog.getSaveFileName(
            parent, "Save the stacked bands as", str(default_output(paths)), "VRT (*.vrt)"
        )
        if out:
            self.stack(paths, Path(out))

    def stack(self, paths: list[Path], out: Path) -> None:
        """Write ``out`` from ``paths`` in a job; the VRT opens when it is written."""
        from segcore.io.stack import stack_bands

        self.context.say(f"Stacking {len(paths)} band files...")
        self.job.start(lambda: stack_bands(paths, out), replace=True)

    def _stacked(self, out: Path) -> None:
        self.context.say(f"Wrote {out.name}", 5000)
        self.open_path(out)


def install(context: AppContext, open_path: Callable[[Path], object]) -> OpenBands:
    """Add File > Open Bands... just after File > Open... (at the end without one)."""
    bands = OpenBands(context, open_path)
    bands.action = make_action(
        context.shell.widget,
        "Open &Bands...",
        bands.choose,
        tip="Open one file per band (Landsat, Sentinel) as one multiband image (a VRT)",
    )
    menu = context.shell.menus["file"]
    items = menu.actions()
    opener = context.shell.actions_by_name.get("open")
    at = items.index(opener) + 1 if opener in items else len(items)
    if at < len(items):
        menu.insertAction(items[at], bands.action)
    else:
        menu.addAction(bands.action)
    context.shell.actions_by_name["open_bands"] = bands.action
    return bands
