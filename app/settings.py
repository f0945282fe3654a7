"""Persistent settings: window layout, recent files and projects (QSettings, INI format).

The file lives where Qt puts per-user settings, unless ``TESSERA_SETTINGS``
names a file (tests point it at a temporary directory so they never touch a
user's settings).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def open_settings() -> QSettings:
    path = os.environ.get("TESSERA_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Tessera", "Tessera")


def recent_files(settings: QSettings) -> list[str]:
    value: Any = settings.value("recent_files", [])
    if isinstance(value, str):  # QSettings turns a one-item list into a string
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent(settings: QSettings, path: str | Path) -> list[str]:
    """Put ``path`` first in the recent list (no duplicates, at most MAX_RECENT)."""
    text = str(Path(path).resolve())
    items = [text] + [p for p in recent_files(settings) if p != text]
    items = items[:MAX_RECENT]
    settings.setValue("recent_files", items)
    return items


def remove_recent(settings: QSettings, path: str) -> list[str]:
    items = [p for p in recent_files(settings) if p != path]
    settings.setValue("recent_files", items)
    return items


def recent_projects(settings: QSettings) -> list[str]:
    value: Any = settings.value("recent_projects", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent_project(settings: QSettings, folder: str | Path) -> list[str]:
    """Put project ``folder`` first in the recent projects (at most MAX_RECENT)."""
    text = str(Path(folder).resolve())
    items = [text] + [p for p in recent_projects(settings) if p != text]
    settings.setValue("recent_projects", items[:MAX_RECENT])
    settings.sync()
    return items[:MAX_RECENT]
