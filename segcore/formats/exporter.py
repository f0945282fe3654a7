"""Drive an export: one writer per format, many images, progress, cancel.

The formats' writers (:class:`~segcore.formats.base.Writer`) are looked up by
name in :mod:`segcore.formats.registry`.

:func:`export` is a job (a generator yielding :class:`Progress`). Every file
goes through a :class:`Staging`: every output name of the run (set by the
format and the image names) is checked before any image is computed, nothing
appears under its final name until the whole export has finished, and closing
the generator (cancel) or an error removes what was written.

Example
-------
>>> job = export([ExportItem("tile", ArrayLabels(cls, classes))], "png", out)  # doctest: +SKIP
>>> paths = run_to_end(job)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from segcore.errors import FormatError
from segcore.formats.base import ExportItem, ExportOptions
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress


def export(
    items: Sequence[ExportItem],
    format_name: str,
    out_dir: Path,
    *,
    options: ExportOptions | None = None,
    protected: Sequence[Path] = (),
    overwrite: bool = False,
) -> Job[list[Path]]:
    """Export ``items`` to ``out_dir`` in format ``format_name``; returns the files written.

    Progress counts pixels over all images. Closing the generator stops the
    export and deletes everything it wrote. No file in ``protected`` (or inside a
    protected folder) is ever replaced; an existing file is replaced only with
    ``overwrite``. Either is refused before any image is computed.
    """
    from segcore.formats.registry import get_format

    fmt = get_format(format_name)
    writer = fmt.writer(options or ExportOptions())
    if not items:
        raise FormatError("nothing to export: no images given")
    for item in items:
        writer.check_classes(item)
    staging = Staging(Path(out_dir), protected=protected, overwrite=overwrite)
    staging.plan(
        [
            (f"the {fmt.name} file for {item.name}", name)
            for item in items
            for name in writer.outputs(item)
        ]
        + [(f"the {fmt.name} file", name) for name in writer.dataset_outputs()]
    )
    total = sum(i.labels.width * i.labels.height for i in items)
    done_before = 0
    committed = False
    try:
        for item in items:
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
