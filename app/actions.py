"""One QAction per user command: :func:`make_action` gives it its text, shortcut,
tooltip and icon once, wherever it then appears (menus, tool bars); the window's
own menus are built in :mod:`app.menus`, features add theirs to ``shell.menus``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from app.action_icons import icon

Keys = QKeySequence.StandardKey | str | list[str] | None


def make_action(
    parent: QWidget,
    text: str,
    slot: Callable[[], object],
    *,
    keys: Keys = None,
    tip: str = "",
    icon_name: str | None = None,
) -> QAction:
    action = QAction(text, parent)
    if isinstance(keys, list):
        action.setShortcuts([QKeySequence(k) for k in keys])
    elif keys is not None:
        action.setShortcut(QKeySequence(keys))
    if icon_name:
        action.setIcon(icon(icon_name))
    shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(
        f"{tip or text.replace('&', '').rstrip('.')}" + (f" ({shortcut})" if shortcut else "")
    )
    action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    parent.addAction(action)  # shortcuts work even with the menu bar hidden
    return action
