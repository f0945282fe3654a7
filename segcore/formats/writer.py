"""Drive an export: one writer per format, many images, progress, cancel.

:func:`export` is a job (a generator yielding :class:`Progress`). Every file
goes through a :class:`Staging`: nothing appears under its final name until
the whole export has finished, and closing the generator (cancel) or an error
removes what was written.

Example
-------
>>> job = export([ExportItem("tile", ArrayLabels(cls, classes))], "png", out)  # doctest: +SKIP
>>> paths = run_to_end(job)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from segcore.errors import FormatError
from segcore.formats.base import DEFAULT_WINDOW, ExportItem
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress
from segcore.labels.schema import ClassInfo

CLASS_FILE = "classes.json"
T = TypeVar("T")


@dataclass(frozen=True)
class ExportOptions:
    """Options shared by all formats.

    ``window`` is the side of the square window (or the pixel count of a strip,
    ``window**2``) read at a time: memory grows with it, not with the image.
    ``simplify`` is the Douglas-Peucker tolerance in pixels for polygon formats
    (0 keeps every vertex of the pixel outline).
    """

    window: int = DEFAULT_WINDOW
    simplify: float = 0.0

    def strip_rows(self, width: int) -> int:
        return max(1, self.window * self.window // max(width, 1))


class Writer(ABC):
    """One export format. ``add`` writes one image; ``finish`` writes dataset-wide files."""

    def __init__(self, options: ExportOptions) -> None:
        self.options = options
        self.classes: list[ClassInfo] | None = None

    def check_classes(self, item: ExportItem) -> list[ClassInfo]:
        """The export's class list; every image must share it."""
        classes = list(item.labels.classes)
        if self.classes is None:
            self.classes = classes
        elif classes != self.classes:
            raise FormatError(
                f"{item.name}: its classes differ from the first image's; "
                "export images with different class lists separately"
            )
        return classes

    @abstractmethod
    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        """Write ``item``'s files, yielding progress in pixels of this image."""

    def finish(self, staging: Staging) -> None:  # noqa: B027 - optional hook
        """Write files that cover the whole export (COCO JSON, class lists)."""


def write_class_file(staging: Staging, classes: list[ClassInfo] | None) -> None:
    """``classes.json``: the class list, for formats that carry no class names."""
    if classes is None:
        return
    path = staging.path(CLASS_FILE)
    text = json.dumps({"classes": [c.to_json() for c in classes]}, indent=1)
    path.write_text(text, encoding="utf-8")


def export(
    items: Sequence[ExportItem],
    format_name: str,
    out_dir: Path,
    *,
    options: ExportOptions | None = None,
) -> Job[list[Path]]:
    """Export ``items`` to ``out_dir`` in format ``format_name``; returns the files written.

    Progress counts pixels over all images. Closing the generator stops the
    export and deletes everything it wrote.
    """
    from segcore.formats.registry import get_format

    fmt = get_format(format_name)
    writer = fmt.writer(options or ExportOptions())
    if not items:
        raise FormatError("nothing to export: no images given")
    staging = Staging(Path(out_dir))
    total = sum(i.labels.width * i.labels.height for i in items)
    done_before = 0
    committed = False
    try:
        for item in items:
            writer.check_classes(item)
            pixels = item.labels.width * item.labels.height
            message = f"{fmt.name}: {item.name}"
            for step in writer.add(item, staging):
                yield Progress(done_before + int(step.fraction * pixels), total, message=message)
            done_before += pixels
        writer.finish(staging)
        paths = staging.commit()
        committed = True
        yield Progress(total, total, message=f"{fmt.name}: done")
        return paths
    finally:
        if not committed:
            staging.abort()
