"""The one place errors reach the user: a dialog with a clear message.

Every failure -- a file that will not open, a worker's exception, an
unexpected bug caught by ``sys.excepthook`` -- goes through :func:`report`.
Expected failures (:class:`~segcore.errors.TesseraError`) show their message
as is, without a traceback; the few other kinds users meet (out of memory,
GPU out of memory, a missing file) get a sentence saying what to do; anything
else is a bug and shows its traceback under "Show Details".
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from types import TracebackType

import shiboken6
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from segcore.errors import TesseraError


@dataclass(frozen=True)
class ErrorMessage:
    """What the dialog shows: a title, a message and optional technical details."""

    title: str
    text: str
    details: str = ""
    expected: bool = True


# Modules only PyTorch work needs; the desktop bundle leaves them out (decision 0012).
TORCH_ONLY = ("torch", "torchvision", "segmentation_models_pytorch", "timm", "onnxscript")


def _is_gpu_oom(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def describe(exc: BaseException, *, context: str = "") -> ErrorMessage:
    """Turn an exception into the message the user sees."""
    title = f"Could not {context}" if context else "Tessera"
    if isinstance(exc, TesseraError):
        return ErrorMessage(title, str(exc))
    if _is_gpu_oom(exc):
        return ErrorMessage(
            title,
            "The GPU ran out of memory. Choose a smaller tile or batch size in the Model "
            "dock, or run on the CPU.",
            str(exc),
        )
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in TORCH_ONLY:
        return ErrorMessage(
            title,
            "This needs PyTorch, which this build of Tessera does not include (the desktop "
            "bundle runs models in onnxruntime). Training, fine-tuning and creating models "
            "need Tessera installed from source (uv run tessera).",
            str(exc),
        )
    if isinstance(exc, MemoryError):
        return ErrorMessage(
            title, "Out of memory. Close other programs or work on a smaller region.", ""
        )
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        name = getattr(exc, "filename", None) or ""
        return ErrorMessage(title, f"{exc.strerror or exc}: {name}".rstrip(": "))
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ErrorMessage(
        title,
        f"Something went wrong that Tessera did not expect ({type(exc).__name__}: {exc}). "
        "Your work is safe; please report this with the details below.",
        details,
        expected=False,
    )


class ErrorReporter:
    """Shows :class:`ErrorMessage` dialogs; remembers the last ones (for tests and logs)."""

    def __init__(self) -> None:
        self.parent: QWidget | None = None
        self.history: list[ErrorMessage] = []
        self._showing = False

    def report(self, exc: BaseException, *, context: str = "") -> ErrorMessage:
        message = describe(exc, context=context)
        self.history.append(message)
        del self.history[:-50]
        if not message.expected:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        self.show(message)
        return message

    def show(self, message: ErrorMessage) -> None:
        if QApplication.instance() is None or self._showing:
            print(f"{message.title}: {message.text}", file=sys.stderr)
            return
        parent = self.parent if self.parent is not None and shiboken6.isValid(self.parent) else None
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Critical if not message.expected else QMessageBox.Icon.Warning)
        box.setWindowTitle(message.title)
        box.setText(message.title)
        box.setInformativeText(message.text)
        if message.details:
            box.setDetailedText(message.details)
        self._showing = True  # an error raised while the dialog is up is printed, not stacked
        try:
            box.exec()
        finally:
            self._showing = False

    def excepthook(
        self,
        kind: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        """``sys.excepthook``: an exception escaping a slot becomes a dialog, not a crash."""
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        self.report(exc.with_traceback(tb))


reporter = ErrorReporter()


def report(exc: BaseException, *, context: str = "") -> ErrorMessage:
    """Show ``exc`` to the user (the module's single reporter)."""
    return reporter.report(exc, context=context)


def install(parent: QWidget | None = None) -> None:
    """Route uncaught exceptions to the dialog; dialogs are parented to ``parent``."""
    reporter.parent = parent
    sys.excepthook = reporter.excepthook
