"""Puts training into the window: the Training dock and its Model menu entries.

The window calls :func:`install` once with its :class:`~app.context.AppContext`,
the Model dock (a finished run becomes the current model and predicts the
view), the project commands (a run saves the project first) and the annotation
context (its strokes drive the pixel classifier's live mode); the dock is
then ``window.training_dock`` and its commands are in ``window.actions_by_name``
(``train``, ``stop_training``, ``next_uncertain``, ``prev_uncertain``).
Closing the window stops a run at once; the best model so far is already in
its file.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.actions import make_action
from app.context import AppContext
from app.docks.model_dock import ModelDock
from app.docks.training_dock import TrainingDock
from app.project.commands import ProjectCommands
from app.tools.context import AnnotationContext


def install(
    context: AppContext,
    models: ModelDock,
    projects: ProjectCommands,
    edits: AnnotationContext | None = None,
) -> TrainingDock:
    """Add the Training dock (right side) and Model > Train... / Stop / Next / Previous.

    ``edits`` (the annotation context) drives the pixel classifier's live mode.
    """
    dock = TrainingDock(context, models, save_project=projects.save, edits=edits)
    context.shell.add_dock(dock, Qt.DockWidgetArea.RightDockWidgetArea, tab_with=models)
    models.raise_()
    projects.project_changed.connect(lambda _p: dock.forget_run())
    panel = dock.uncertainty
    window = context.shell.widget

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
    menu = context.shell.menus["model"]
    menu.addSeparator()
    for action in actions.values():
        menu.addAction(action)
    context.shell.actions_by_name.update(actions)
    return dock
