"""Edit > Cache...: the size of the cache of pyramids and ONNX copies, its limit, clearing it.

The figures are measured in a job (a big cache is many thousand files) and
shown when they arrive. The limit is segcore's (``limits.json`` beside the
caches, shared with ``tessera cache limit``); an environment variable that
sets it wins, and the box then says so and is read-only. Clearing keeps the
pyramid of every image an open window is reading (segcore never deletes a
held cache).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from app import errors
from app.actions import make_action
from app.context import AppContext
from segcore.cache import cache_home, cache_limit, format_size, save_limit
from segcore.io import pyramid_cache
from segcore.models import onnx_cache

GB = 1 << 30


@dataclass(frozen=True)
class Usage:
    """What the cache holds, measured off the GUI thread."""

    pyramids: int  # images with a cached pyramid
    pyramid_bytes: int
    in_use: int
    copies: int  # ONNX copies of models
    onnx_bytes: int
    cleared: str = ""  # what a clear just did


def measure(cleared: str = "") -> Usage:
    entries = pyramid_cache.entries()
    copies, onnx_bytes = onnx_cache.usage()
    return Usage(
        pyramids=len(entries),
        pyramid_bytes=sum(e.nbytes for e in entries),
        in_use=sum(e.in_use for e in entries),
        copies=copies,
        onnx_bytes=onnx_bytes,
        cleared=cleared,
    )


def clear_all() -> Usage:
    done = pyramid_cache.clear()
    copies, freed = onnx_cache.clear()
    said = f"Freed {format_size(done.freed + freed)}"
    if done.kept_in_use:
        said += f"; kept {done.kept_in_use} pyramid(s) an open image is reading"
    return measure(said + ".")


class CacheDialog(QDialog):
    """Sizes, the pyramid cache's limit, and a Clear button."""

    def __init__(self, context: AppContext) -> None:
        super().__init__(context.shell.widget)
        self.setWindowTitle("Cache")
        self.usage: Usage | None = None
        self.job = context.jobs.slot("measure the cache", returned=self._show)
        self.folder = QLabel(str(cache_home()))
        self.folder.setWordWrap(True)
        self.pyramids = QLabel("measuring...")
        self.onnx = QLabel("measuring...")
        self.limit = QDoubleSpinBox()
        self.limit.setRange(0.1, 100_000)
        self.limit.setDecimals(1)
        self.limit.setSuffix(" GB")
        self.limit.setToolTip(
            "Pyramids beyond this are deleted, least recently used first, "
            "when an image needs a new one"
        )
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.clear_button = QPushButton("Clear Cache")
        self.clear_button.setToolTip("Delete every cached pyramid and ONNX copy not in use")
        self.clear_button.clicked.connect(self.clear)
        form = QFormLayout()
        form.addRow("Folder:", self.folder)
        form.addRow("Pyramids:", self.pyramids)
        form.addRow("Keep pyramids up to:", self.limit)
        form.addRow("ONNX copies:", self.onnx)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.clear_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self._load_limit()
        self.limit.editingFinished.connect(self._save_limit)

    def refresh(self) -> None:
        """Measure the cache again (in a job)."""
        self.folder.setText(str(cache_home()))
        self._load_limit()
        self.job.start(measure, replace=True)

    def clear(self) -> None:
        self.clear_button.setEnabled(False)
        self.job.start(clear_all, replace=True)

    def _show(self, usage: Usage) -> None:
        self.usage = usage
        limit = cache_limit("pyramids")[0]
        text = (
            f"{format_size(usage.pyramid_bytes)} of {format_size(limit)}, {usage.pyramids} image(s)"
        )
        if usage.in_use:
            text += f", {usage.in_use} in use"
        self.pyramids.setText(text)
        limit = cache_limit("onnx")[0]
        self.onnx.setText(
            f"{format_size(usage.onnx_bytes)} of {format_size(limit)}, {usage.copies} model(s)"
        )
        if usage.cleared:
            self.note.setText(usage.cleared)
        self.clear_button.setEnabled(True)

    def _load_limit(self) -> None:
        nbytes, source = cache_limit("pyramids")
        self.limit.blockSignals(True)
        self.limit.setValue(nbytes / GB)
        self.limit.blockSignals(False)
        fixed = source.startswith("$")
        self.limit.setReadOnly(fixed)
        self.note.setText(f"The limit is set by {source[1:]}." if fixed else "")

    def _save_limit(self) -> None:
        if self.limit.isReadOnly():
            return
        nbytes = int(round(self.limit.value() * GB))
        if nbytes == cache_limit("pyramids")[0]:
            return
        try:
            save_limit("pyramids", nbytes)
        except OSError as exc:
            errors.report(exc, context="save the cache limit")
            return
        self.note.setText(f"Pyramids are kept up to {format_size(nbytes)}.")


class CacheActions:
    """Edit > Cache...; the dialog is made on first use and measured each time it opens."""

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.dialog: CacheDialog | None = None

    def show(self) -> CacheDialog:
        if self.dialog is None:
            self.dialog = CacheDialog(self.context)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog


def install(context: AppContext) -> CacheActions:
    """Add Edit > Cache..."""
    cache = CacheActions(context)
    action = make_action(
        context.shell.widget,
        "Cac&he...",
        cache.show,
        tip="Size of the cache of pyramids and ONNX copies; its limit; clear it",
    )
    context.shell.menus["edit"].addAction(action)
    context.shell.actions_by_name["cache"] = action
    return cache
