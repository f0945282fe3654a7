"""Start the desktop app: ``tessera [IMAGE] [--model MODEL]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

import app
from app import errors

if TYPE_CHECKING:
    from app.window import MainWindow


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


class EarlyOpen:
    """Opens the command line's image in a job while the window is still being built.

    Its outcome waits here until :meth:`attach` names the window (queued signals
    only arrive once the event loop runs, after the window exists anyway).
    """

    def __init__(self, path: Path) -> None:
        from app.session import load_document
        from app.worker import JobSlot

        self.path = path
        self.window: MainWindow | None = None
        self.outcome: tuple[bool, Any] | None = None
        self.job = JobSlot(
            f"open {path.name}",
            returned=lambda doc: self._arrived((True, doc)),
            errored=lambda exc: self._arrived((False, exc)),
        )
        self.job.start(lambda: load_document(path))

    def attach(self, window: MainWindow) -> None:
        self.window = window
        window.opening(self.path, self.job)
        self._deliver()

    def _arrived(self, outcome: tuple[bool, Any]) -> None:
        self.outcome = outcome
        self._deliver()

    def _deliver(self) -> None:
        if self.window is None or self.outcome is None:
            return
        ok, value = self.outcome
        self.outcome = None
        if ok:
            self.window.document_opened(self.path, value)
        else:
            self.window.open_failed(self.path, value)


def launch(args: list[str]) -> MainWindow:
    """Parse ``args``, show the main window and start opening what they name."""
    options = parse_args(args)
    make_application()
    image = Path(options.image) if options.image else None
    early = None
    if image is not None and image.suffix.lower() not in (".safetensors", ".onnx", ".pth"):
        early = EarlyOpen(image)  # reading starts while the widgets are built
    from app.window import MainWindow

    window = MainWindow()
    errors.install(window)
    window.show()
    if early is not None:
        early.attach(window)
    elif image is not None:
        window.open_path(image)
    elif options.synthetic:
        window.open_synthetic()
    else:
        window.open_sample()
    if options.model:
        window.model_dock.open_model(options.model)
    return window


def run_app(args: list[str]) -> int:
    """Create the window, open what the command line names (or the sample), run the loop."""
    window = launch(args)  # held here: the window lives as long as the event loop
    code = int(QApplication.instance().exec())  # type: ignore[union-attr]
    window.deleteLater()
    return code
