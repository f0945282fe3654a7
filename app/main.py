"""Start the desktop app: ``tessera [IMAGE] [--model MODEL]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

import app
from app import errors


def parse_args(args: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tessera",
        description="Tessera: view, segment and annotate huge images. "
        "With no IMAGE it opens the bundled sample.",
    )
    parser.add_argument("image", nargs="?", help="image, slide, DICOM or NIfTI file to open")
    parser.add_argument("--model", help="model file to load (.safetensors, or .onnx + .json)")
    parser.add_argument(
        "--synthetic", action="store_true", help="open a generated scene with ground truth"
    )
    parser.add_argument("--version", action="version", version=f"tessera {app.__version__}")
    return parser.parse_args(list(args))


def dark_palette() -> QPalette:
    """A calm dark theme: images read better on a dark surround."""
    p = QPalette()
    base, window, text = QColor(30, 32, 36), QColor(43, 45, 50), QColor(222, 225, 230)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: QColor(55, 58, 64),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(52, 55, 61),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Highlight: QColor(60, 130, 220),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(100, 170, 255),
        QPalette.ColorRole.PlaceholderText: QColor(130, 134, 140),
        QPalette.ColorRole.Mid: QColor(120, 124, 130),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 124, 130))
    return p


def make_application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    qapp = QApplication(sys.argv[:1])
    qapp.setApplicationName("Tessera")
    qapp.setOrganizationName("Tessera")
    qapp.setApplicationVersion(app.__version__)
    qapp.setStyle("Fusion")
    qapp.setPalette(dark_palette())
    qapp.setAttribute(Qt.ApplicationAttribute.AA_DontShowIconsInMenus, False)
    return qapp


def run_app(args: list[str]) -> int:
    """Create the window, open what the command line names (or the sample), run the loop."""
    options = parse_args(args)
    qapp = make_application()
    from app.window import MainWindow

    window = MainWindow()
    errors.install(window)
    window.show()
    if options.image:
        window.open_path(options.image)
    elif options.synthetic:
        window.open_synthetic()
    else:
        window.open_sample()
    if options.model:
        window.model_dock.open_model(options.model)
    return int(qapp.exec())
