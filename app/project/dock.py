"""Project dock: the project's images with how much of each is labelled.

Double-click (or Enter) opens an image; Previous / Next step through them
(Alt+Left / Alt+Right). A missing file is shown in red; opening it asks
where it went and relocates it. The image on screen is in bold, and its bar
follows every committed edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segcore.project import ImageEntry

if TYPE_CHECKING:
    from app.project.commands import ProjectCommands

ID_ROLE = Qt.ItemDataRole.UserRole
FRACTION_ROLE = Qt.ItemDataRole.UserRole + 1
MISSING = QColor(235, 95, 85)
BAR = QColor(80, 160, 240)


class ProgressDelegate(QStyledItemDelegate):
    """Draws the labelled fraction as a thin bar with its percentage."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        fraction = index.data(FRACTION_ROLE)
        if not isinstance(fraction, float):
            super().paint(painter, option, index)
            return
        rect: QRect = option.rect.adjusted(3, 2, -3, -2)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(70, 74, 80))
        painter.drawRoundedRect(rect, 3, 3)
        if fraction > 0:
            done = QRect(rect)
            done.setWidth(max(2, round(rect.width() * min(fraction, 1.0))))
            painter.setBrush(BAR)
            painter.drawRoundedRect(done, 3, 3)
        painter.setPen(QColor(235, 238, 242))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, percent(fraction))
        painter.restore()

    def sizeHint(  # noqa: N802 (Qt name)
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 80), max(hint.height(), 20))


def percent(fraction: float) -> str:
    """'0 %', '< 0.1 %', '12.5 %', '100 %'."""
    if fraction <= 0:
        return "0 %"
    if fraction < 0.001:
        return "< 0.1 %"
    return f"{fraction * 100:.0f} %" if fraction >= 0.995 else f"{fraction * 100:.1f} %"


class ProjectDock(QDockWidget):
    """The image list of the open project."""

    def __init__(self, projects: ProjectCommands, parent: QWidget | None = None) -> None:
        super().__init__("Project", parent)
        self.setObjectName("project_dock")
        self.projects = projects
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("No project open (File > New Project...)")
        self.title.setWordWrap(True)
        self.list = QTreeWidget()
        self.list.setColumnCount(2)
        self.list.setHeaderLabels(["Image", "Labelled"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setItemDelegateForColumn(1, ProgressDelegate(self.list))
        self.list.setColumnWidth(0, 140)
        self.list.setToolTip("Double-click an image to open it")
        self.list.itemActivated.connect(self._activated)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add Images...")
        self.add_button.setToolTip("Add image files to the project")
        self.prev_button = QPushButton("Previous")
        self.prev_button.setToolTip("Previous image (Alt+Left)")
        self.next_button = QPushButton("Next")
        self.next_button.setToolTip("Next image (Alt+Right)")
        self.add_button.clicked.connect(lambda: projects.add_images())
        self.prev_button.clicked.connect(lambda: projects.step_image(-1))
        self.next_button.clicked.connect(lambda: projects.step_image(1))
        for button in (self.add_button, self.prev_button, self.next_button):
            buttons.addWidget(button)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        projects.project_changed.connect(lambda _p: self.refresh())
        projects.images_changed.connect(self.refresh)
        projects.image_opened.connect(lambda _id: self.refresh())
        projects.editing.history_changed.connect(self.update_current)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the list from the project."""
        project = self.projects.project
        self.list.clear()
        enabled = project is not None
        for button in (self.add_button, self.prev_button, self.next_button):
            button.setEnabled(enabled)
        if project is None:
            self.title.setText("No project open (File > New Project...)")
            return
        entries = project.images
        self.title.setText(f"<b>{project.name}</b> - {len(entries)} image(s)")
        for entry in entries:
            item = QTreeWidgetItem()
            self._fill(item, entry)
            self.list.addTopLevelItem(item)
            if entry.id == self.projects.image_id:
                self.list.setCurrentItem(item)

    def update_current(self) -> None:
        """Refresh the labelled fraction of the image on screen (after each edit)."""
        project, image_id = self.projects.project, self.projects.image_id
        if project is None or image_id is None:
            return
        for row in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(row)
            if item is not None and item.data(0, ID_ROLE) == image_id:
                self._fill(item, project.image(image_id))

    def _fill(self, item: QTreeWidgetItem, entry: ImageEntry) -> None:
        item.setText(0, entry.id)
        item.setData(0, ID_ROLE, entry.id)
        item.setData(1, FRACTION_ROLE, float(entry.labelled_fraction))
        item.setText(1, percent(entry.labelled_fraction))
        if entry.depth > 1:  # a volume: "12 of 189 slices labelled"
            item.setText(
                1, f"{percent(entry.labelled_fraction)} ({entry.labelled_slices}/{entry.depth})"
            )
            item.setToolTip(1, entry.slices_text)
        font = QFont(item.font(0))
        font.setBold(entry.id == self.projects.image_id)
        item.setFont(0, font)
        if entry.missing:
            item.setForeground(0, QBrush(MISSING))
            item.setToolTip(0, f"Missing: {entry.path}\nDouble-click to locate it")
        else:
            item.setForeground(0, QBrush())
            item.setToolTip(0, f"{entry.path}\n{entry.width} x {entry.height} pixels")

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        image_id = item.data(0, ID_ROLE)
        if isinstance(image_id, str):
            self.projects.open_image(image_id)
