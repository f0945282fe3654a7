"""Write a set of output files under temporary names and publish them together.

An export writes every file as ``.<stem>.<random>.part<suffix>`` next to its
final path (the suffix stays last: GDAL picks drivers by it).
:meth:`Staging.commit` renames them all once the whole export has finished;
:meth:`Staging.abort` (a failed or cancelled export) deletes them, so a user
never finds half a dataset on disk.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from segcore.errors import FormatError


class Staging:
    """Temporary paths for an export's outputs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._pending: list[tuple[Path, Path]] = []
        self._dirs: list[Path] = []

    def path(self, relative: str | Path) -> Path:
        """A temporary path that becomes ``root / relative`` on commit."""
        final = self.root / relative
        if any(final == f for _, f in self._pending):
            raise FormatError(
                f"{final}: two outputs would have the same name; give images unique names"
            )
        self._make_dir(final.parent)
        temp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}.part{final.suffix}")
        self._pending.append((temp, final))
        return temp

    def _make_dir(self, folder: Path) -> None:
        missing: list[Path] = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FormatError(f"{folder}: cannot create output folder: {exc}") from exc
        self._dirs.extend(reversed(missing))

    def commit(self) -> list[Path]:
        """Rename every temporary file to its final name; return the final paths."""
        done: list[Path] = []
        for temp, final in self._pending:
            if not temp.exists():
                raise FormatError(f"{final}: the exporter did not write this file")
            try:
                os.replace(temp, final)
            except OSError as exc:
                raise FormatError(f"{final}: cannot rename the finished file: {exc}") from exc
            done.append(final)
        self._pending.clear()
        self._dirs.clear()
        return done

    def abort(self) -> None:
        """Delete every temporary file, and the folders this export created."""
        for temp, _ in self._pending:
            temp.unlink(missing_ok=True)
        self._pending.clear()
        for folder in reversed(self._dirs):
            with contextlib.suppress(OSError):  # not empty: someone else's files are there
                folder.rmdir()
        self._dirs.clear()
