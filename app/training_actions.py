"""Puts training into the main window: the Training dock and its Model menu entries.

``MainWindow`` calls :func:`install` once; the dock is then
``window.training_dock`` and its commands are in ``window.actions_by_name``
(``train``, ``stop_training``, ``next_uncertain``, ``prev_uncertain``).
Closing the window stops a run at once (``wait_for_jobs``); the best model so
far is already in its file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from app.actions import make_action
from app.docks.training_dock import TrainingDock

if TYPE_CHECKING:
    from app.window import MainWindow


def install(window: MainWindow) -> TrainingDock:
    """Add the Training dock (right side) and Model > Train... / Stop / Next / Previous."""
    dock = TrainingDock(window)
    window.add_dock(dock, Qt.DockWidgetArea.RightDockWidgetArea)
    window.tabifyDockWidget(window.model_dock, dock)  # the chart needs the dock's height
    window.model_dock.raise_()
    panel = dock.uncertainty

    def show_dock() -> None:
        dock.show()
        dock.raise_()

    actions = {
        "train": make_action(
            window, "&Train...", show_dock, keys="Ctrl+T",
            tip="Show the Training dock: train a model on the labels so far",
        ),
        "stop_training": make_action(
            window, "Stop Training", dock.stop, tip="End training after this step, keeping the best"
        ),
        "next_uncertain": make_action(
            window, "Next Uncertain Tile", lambda: panel.step(1), keys="Ctrl+]",
            tip="Fly to the next place the model is unsure about",
        ),
        "prev_uncertain": make_action(
            window, "Previous Uncertain Tile", lambda: panel.step(-1), keys="Ctrl+[",
            tip="Fly to the previous place the model is unsure about",
        ),
    }  # fmt: skip
    menu = window.menus["model"]
    menu.addSeparator()
    for action in actions.values():
        menu.addAction(action)
    window.actions_by_name.update(actions)
    return dock
