"""Write a set of output files under temporary names and publish them together.

An export writes every file under a temporary name next to its final path
(:func:`segcore.files.part_path`: the suffix stays last, GDAL picks drivers by it).
:meth:`Staging.commit` renames them all once the whole export has finished;
:meth:`Staging.abort` (a failed or cancelled export) deletes them, so a user
never finds half a dataset on disk.

:meth:`Staging.plan` checks every final path of the run before any work: it
refuses one that is one of the ``protected`` inputs (the project's images and
files, the mask being exported; through symlinks and hard links too), lies inside
a protected folder, is named twice, or already exists and ``overwrite`` was not
given. Once a plan is made, asking for a path outside it is a bug in the writer.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from segcore.errors import FormatError
from segcore.files import check_outputs, part_path, same_file, sweep_parts

_SAME_NAME = "{final}: two outputs would have the same name; give images unique names"


class Staging:
    """Temporary paths for an export's outputs."""

    def __init__(
        self, root: Path, *, protected: Sequence[Path] = (), overwrite: bool = False
    ) -> None:
        self.root = Path(root)
        self.protected = [Path(p) for p in protected]
        self.overwrite = overwrite
        self._pending: list[tuple[Path, Path]] = []
        self._dirs: list[Path] = []
        self._swept: set[Path] = set()
        self._planned: set[Path] | None = None

    def plan(self, outputs: Sequence[tuple[str, str]]) -> None:
        """Check every ``(what, relative)`` output of the run before anything is written.

        Raises
        ------
        OutputError, FormatError
            One line naming the first output that clashes, and what to do.
        """
        finals = [(what, self.root / relative) for what, relative in outputs]
        planned: set[Path] = set()
        for _, final in finals:
            if final in planned:
                raise FormatError(_SAME_NAME.format(final=final))
            planned.add(final)
        for _, final in finals:  # an input (or inside one), an existing file
            self._check_final(final)
        # two names for one file (links), an output inside a zarr input
        check_outputs(finals, [("input", p) for p in self.protected], folders=True)
        self._planned = planned

    def path(self, relative: str | Path) -> Path:
        """A temporary path that becomes ``root / relative`` on commit."""
        final = self.root / relative
        if self._planned is not None and final not in self._planned:
            raise RuntimeError(f"{final}: the writer did not list this output in its plan")
        if any(same_file(final, f) for _, f in self._pending):
            raise FormatError(_SAME_NAME.format(final=final))
        self._check_final(final)
        self._make_dir(final.parent)
        if final.parent not in self._swept:  # temporary files of killed exports
            sweep_parts(final.parent)
            self._swept.add(final.parent)
        temp = part_path(final)
        self._pending.append((temp, final))
        return temp

    def _check_final(self, final: Path) -> None:
        for keep in self.protected:
            inside = keep.is_dir() and final.resolve().is_relative_to(keep.resolve())
            if same_file(final, keep) or inside:
                raise FormatError(
                    f"{final}: the export would write over {keep}, one of its own inputs; "
                    "export into another folder"
                )
        if (final.exists() or final.is_symlink()) and not self.overwrite:
            raise FormatError(
                f"{final}: already exists; export into an empty folder, "
                "or give --overwrite to replace the files of an earlier export"
            )

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
