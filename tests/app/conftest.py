"""Fixtures for the app tests: temporary settings, no blocking dialogs, no leftover work."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QMessageBox

from app import errors
from app.worker import job_pool, wait_for_jobs


@pytest.fixture(autouse=True)
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings file, never the user's."""
    path = tmp_path / "settings.ini"
    monkeypatch.setenv("TESSERA_SETTINGS", str(path))
    return path


@pytest.fixture(autouse=True)
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Message boxes record their text instead of blocking; the list is returned."""
    shown: list[str] = []

    def fake_exec(box: QMessageBox) -> int:
        shown.append(f"{box.text()}: {box.informativeText()}")
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    monkeypatch.setattr(
        QMessageBox, "about", staticmethod(lambda parent, title, text: shown.append(title))
    )
    errors.reporter.history.clear()
    # A window an earlier test installed as the dialogs' parent is deleted by now.
    monkeypatch.setattr(errors.reporter, "parent", None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # launch() installs its own
    return shown


@pytest.fixture(autouse=True)
def finish_work() -> Iterator[None]:
    """Nothing a test started may still run afterwards (jobs, tile reads)."""
    yield
    assert wait_for_jobs(30_000), "a job did not stop within 30 s"
    assert job_pool().waitForDone(30_000)
    assert QThreadPool.globalInstance().waitForDone(30_000)
