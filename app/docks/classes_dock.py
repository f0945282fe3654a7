"""Classes dock: the class schema of the open labels (or the model), with colours.

Shows each class's colour, id, name and kind (thing / stuff). Selecting a row
makes it the *current class* (``current_class_changed``), which annotation
tools will paint with; number keys 1-9 pick it on the canvas. The project
feature adds its class-editing buttons below the list (``add_edit_actions``,
:mod:`app.project.class_actions`).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDockWidget,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from segcore.labels.schema import ClassInfo


def swatch(color: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


class ClassesDock(QDockWidget):
    current_class_changed = Signal(object)  # ClassInfo | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("classes_dock")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.source = QLabel("No classes yet")
        self.source.setStyleSheet("color: palette(mid);")
        self.list = QListWidget()
        self.list.setToolTip("Classes of the labels; the selected one is the current class (1-9)")
        self.list.currentRowChanged.connect(self._row_changed)
        layout.addWidget(self.source)
        layout.addWidget(self.list)
        self.buttons = QGridLayout()
        self.buttons.setSpacing(2)
        layout.addLayout(self.buttons)
        self.setWidget(body)
        self.classes: tuple[ClassInfo, ...] = ()

    def add_edit_actions(self, actions: list[QAction], *, per_row: int = 4) -> None:
        """One small button per action below the list (class editing)."""
        for i, action in enumerate(actions):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setAutoRaise(True)
            self.buttons.addWidget(button, i // per_row, i % per_row)

    def set_classes(self, classes: Sequence[ClassInfo], *, origin: str = "") -> None:
        """Show ``classes``; ``origin`` says where they come from ("labels", "model ...")."""
        self.classes = tuple(classes)
        self.list.clear()
        for i, c in enumerate(self.classes):
            kind = "thing" if c.thing else "stuff"
            key = f"  [{i + 1}]" if i < 9 else ""
            item = QListWidgetItem(swatch(c.color), f"{c.id}  {c.name}  ({kind}){key}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            self.list.addItem(item)
        self.source.setText(f"From {origin}" if origin and self.classes else "No classes yet")
        self.current_class_changed.emit(self.current_class)  # the tool bar's box follows

    def select_index(self, index: int) -> None:
        if 0 <= index < self.list.count():
            self.list.setCurrentRow(index)

    @property
    def current_row(self) -> int:
        """Row of the current class (-1: none)."""
        return int(self.list.currentRow())

    @property
    def current_class(self) -> ClassInfo | None:
        row = self.list.currentRow()
        return self.classes[row] if 0 <= row < len(self.classes) else None

    def _row_changed(self, row: int) -> None:
        self.current_class_changed.emit(self.current_class)
