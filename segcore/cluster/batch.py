"""Many images in one command: which images, where their outputs go, the summary.

``tessera infer`` takes a folder, a glob pattern, a text file listing images
(one per line) or several paths; :func:`expand_inputs` turns them into image
paths and :func:`batch_items` pairs each with its output in the output
folder. Without a cluster the images run one after another in this process
(:func:`infer_serially`, the single-process engine); either way each gets an
:class:`~segcore.cluster.job.Outcome` and :func:`write_summary` writes the
table.
"""

from __future__ import annotations

import csv
import glob
import os
import time
from collections.abc import Sequence
from pathlib import Path

from segcore.cluster.job import Outcome
from segcore.engine.options import InferOptions
from segcore.errors import InferenceError, TesseraError
from segcore.jobs import Job, Progress

IMAGE_SUFFIXES = (
    ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".jp2", ".svs", ".ndpi", ".mrxs",
    ".scn", ".vms", ".dcm", ".nii", ".vrt", ".webp",
)  # fmt: skip
SUMMARY = "summary.csv"


def is_batch(inputs: Sequence[Path]) -> bool:
    """Several inputs, a folder, a glob pattern or a list file: a batch."""
    if len(inputs) != 1:
        return True
    one = inputs[0]
    return one.is_dir() or glob.has_magic(str(one)) or one.suffix.lower() == ".txt"


def expand_inputs(inputs: Sequence[Path]) -> list[Path]:
    """Image paths named by folders (their images), glob patterns and ``.txt`` lists."""
    found: list[Path] = []
    for item in inputs:
        text = str(item)
        if item.is_dir():
            found += sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif glob.has_magic(text):
            found += sorted(Path(p) for p in glob.glob(text, recursive=True))
        elif item.suffix.lower() == ".txt":
            found += _listed(item)
        else:
            found.append(item)
    if not found:
        raise InferenceError(f"no images in {', '.join(map(str, inputs))}; name images or a folder")
    return list(dict.fromkeys(found))


def _listed(path: Path) -> list[Path]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InferenceError(f"{path}: cannot read the image list ({exc})") from exc
    base = path.parent
    paths = [Path(s.strip()) for s in lines if s.strip() and not s.startswith("#")]
    return [p if p.is_absolute() else base / p for p in paths]


def batch_items(images: Sequence[Path], out_dir: Path, suffix: str) -> list[tuple[Path, Path]]:
    """(image, output) pairs: ``out_dir / <image stem><suffix>``; two images with one
    stem are refused (their outputs would collide)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InferenceError(f"{out_dir}: for several images -o names a folder, not a file")
    seen: dict[str, Path] = {}
    items = []
    for image in images:
        name = _stem(image) + suffix
        if name in seen:
            raise InferenceError(
                f"{image} and {seen[name]} would both write {out_dir / name}; "
                "rename one or run them separately"
            )
        seen[name] = image
        items.append((image, out_dir / name))
    return items


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".ome.tiff", ".ome.tif", ".nii.gz"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def infer_serially(
    items: Sequence[tuple[Path, Path]],
    model: str | Path,
    *,
    options: InferOptions,
    resume: bool = True,
) -> Job[list[Outcome]]:
    """The batch without a cluster: each image in turn with the single-process engine.

    An image that fails is recorded and the next one runs.
    """
    from segcore.engine import infer

    outcomes = []
    total = len(items)
    for n, (image, output) in enumerate(items):
        if resume and output.exists():
            outcomes.append(Outcome(image, output, 0, 0, 0.0, "skipped", "output exists"))
            continue
        start = time.monotonic()
        try:
            job = infer(image, model, output, options=options)
            try:
                while True:
                    step = next(job)
                    yield Progress(n, total, message=step.message, rate=step.rate)
            except StopIteration as stop:
                result = stop.value
            finally:
                job.close()
            size = (result.roi.w, result.roi.h)
            seconds = time.monotonic() - start
            outcomes.append(Outcome(image, output, *size, seconds, "done"))
        except TesseraError as exc:
            seconds = time.monotonic() - start
            outcomes.append(Outcome(image, output, 0, 0, seconds, "failed", str(exc)))
        yield Progress(n + 1, total)
    return outcomes


def summary_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """The summary as a plain-text table."""
    rows = [("image", "size", "seconds", "status", "error")]
    for o in outcomes:
        size = f"{o.width} x {o.height}" if o.width else "-"
        rows.append((o.image.name, size, f"{o.seconds:.1f}", o.status, o.error))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
            for r in rows]  # fmt: skip


def write_summary(outcomes: Sequence[Outcome], path: Path) -> Path:
    """The summary as CSV (image, output, width, height, seconds, status, error), atomically."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    with part.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(("image", "output", "width", "height", "seconds", "status", "error"))
        for o in outcomes:
            out.writerow(
                (o.image, o.output, o.width, o.height, f"{o.seconds:.2f}", o.status, o.error)
            )
    os.replace(part, path)
    return path
