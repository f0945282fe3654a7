"""The main window's own menus and tool bar, and the recent-files menu.

Every command here is made with :func:`app.actions.make_action`; features add
their own entries to ``shell.menus[name]`` (e.g. Edit > Undo, File > Export).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from app.actions import make_action

if TYPE_CHECKING:
    from app.window import MainWindow


def build_menus(window: MainWindow) -> dict[str, QAction]:
    """Create every action, the menus and the tool bar; returns actions by name."""
    canvas, model = window.canvas, window.model_dock
    a: dict[str, QAction] = {}
    a["open"] = make_action(
        window, "&Open Image...", window.choose_file, keys=QKeySequence.StandardKey.Open,
        tip="Open an image, slide, DICOM or NIfTI file", icon_name="open",
    )  # fmt: skip
    a["sample"] = make_action(
        window, "Open &Sample", window.open_sample, tip="Open the bundled sample"
    )
    a["synthetic"] = make_action(
        window, "Open S&ynthetic Scene", window.open_synthetic, tip="A generated scene with labels"
    )
    a["close"] = make_action(
        window, "&Close Image", window.close_image, keys=QKeySequence.StandardKey.Close
    )
    a["quit"] = make_action(window, "&Quit", window.close, keys=QKeySequence.StandardKey.Quit)
    a["copy_pos"] = make_action(
        window, "&Copy View Box", window.copy_view_box, keys="Ctrl+Shift+C",
        tip="Copy the visible area (x, y, width, height in pixels) to the clipboard",
    )  # fmt: skip
    a["clear_pred"] = make_action(window, "Clear &Prediction", window.clear_prediction)
    a["zoom_in"] = make_action(
        window, "Zoom &In", lambda: canvas.zoom_by(2**0.5), keys=QKeySequence.StandardKey.ZoomIn,
        icon_name="zoom_in",
    )  # fmt: skip
    a["zoom_out"] = make_action(
        window, "Zoom &Out", lambda: canvas.zoom_by(2**-0.5), keys=QKeySequence.StandardKey.ZoomOut,
        icon_name="zoom_out",
    )  # fmt: skip
    a["fit"] = make_action(
        window,
        "&Fit to Window",
        canvas.fit,
        keys="Ctrl+0",
        tip="Show the whole image",
        icon_name="fit",
    )
    a["one"] = make_action(
        window, "&Actual Pixels (1:1)", canvas.one_to_one, keys="Ctrl+1",
        tip="One image pixel per screen pixel", icon_name="one",
    )  # fmt: skip
    a["next_slice"] = make_action(
        window, "&Next Slice", lambda: window.step_slice(1), keys="PgDown"
    )
    a["prev_slice"] = make_action(
        window, "&Previous Slice", lambda: window.step_slice(-1), keys="PgUp"
    )
    a["pan"] = make_action(
        window,
        "&Pan Tool",
        lambda: canvas.set_tool(None),
        keys="H",
        tip="Drag to pan",
        icon_name="pan",
    )
    a["open_model"] = make_action(
        window, "Open &Model...", model.choose_model, keys="Ctrl+M",
        tip="Open a model file (.safetensors, or .onnx with its .json sidecar)", icon_name="model",
    )  # fmt: skip
    a["run_view"] = make_action(
        window, "Run on &Visible Area", lambda: model.run("view"), keys="Ctrl+R",
        tip="Segment what is on screen", icon_name="run",
    )  # fmt: skip
    a["run_rect"] = make_action(
        window, "Run on &Rectangle...", lambda: model.run("rect"), keys="Ctrl+Shift+R",
        tip="Drag a rectangle on the image to segment it", icon_name="rect",
    )  # fmt: skip
    a["run_all"] = make_action(window, "Run on &Whole Image", lambda: model.run("image"))
    a["cancel"] = make_action(
        window,
        "&Cancel Run",
        model.cancel,
        keys="Ctrl+.",
        tip="Stop the model run",
        icon_name="stop",
    )
    a["shortcuts"] = make_action(
        window, "&Keyboard Shortcuts", window.show_shortcuts, keys=["F1", "Ctrl+/"]
    )
    a["about"] = make_action(window, "&About Tessera", window.show_about)

    bar = window.menuBar()
    window.menus["file"] = file_menu = bar.addMenu("&File")
    file_menu.addActions([a["open"]])
    window.recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addActions([a["sample"], a["synthetic"]])
    file_menu.addSeparator()
    file_menu.addActions([a["close"]])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    window.menus["edit"] = edit = bar.addMenu("&Edit")
    edit.addActions([a["copy_pos"], a["clear_pred"]])
    window.menus["view"] = view = bar.addMenu("&View")
    view.addActions([a["zoom_in"], a["zoom_out"], a["fit"], a["one"]])
    view.addSeparator()
    view.addActions([a["prev_slice"], a["next_slice"]])
    view.addSeparator()
    view.addAction(a["pan"])
    view.addSeparator()
    window.docks_menu = view.addMenu("&Docks")
    window.menus["model"] = model_menu = bar.addMenu("&Model")
    model_menu.addAction(a["open_model"])
    model_menu.addSeparator()
    model_menu.addActions([a["run_view"], a["run_rect"], a["run_all"], a["cancel"]])
    window.menus["help"] = help_menu = bar.addMenu("&Help")
    help_menu.addActions([a["shortcuts"], a["about"]])

    tools = QToolBar("Main")
    tools.setObjectName("main_toolbar")
    tools.setMovable(False)
    tools.addActions([a["open"], a["open_model"]])
    tools.addSeparator()
    tools.addActions([a["pan"], a["zoom_in"], a["zoom_out"], a["fit"], a["one"]])
    tools.addSeparator()
    tools.addActions([a["run_view"], a["run_rect"], a["cancel"]])
    window.addToolBar(tools)
    window.toolbar = tools
    return a


def fill_recent(menu: QMenu, paths: list[str], open_path: Callable[[str], object]) -> None:
    menu.clear()
    for path in paths:
        action = menu.addAction(path)
        action.triggered.connect(lambda _c=False, p=path: open_path(p))
    menu.setEnabled(bool(paths))
