"""``tessera export``: write a project's labels, or a mask file's, in a dataset format."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from segcore.cli.evaluate import positive_int
from segcore.cli.progress import run_job
from segcore.errors import FormatError
from segcore.formats.base import ExportItem
from segcore.labels.adapters import SourceLabels


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "export",
        help="export labels to mask and dataset formats",
        description="Export labels from a project (--project) or from mask files (--mask) "
        "to a format; --list shows the formats.",
    )
    parser.add_argument("--format", "-f", help="output format (see --list)")
    parser.add_argument("--out", "-o", help="output folder")
    parser.add_argument("--project", help="project folder to export")
    parser.add_argument("--images", help="comma-separated project image ids (default: all)")
    parser.add_argument("--mask", help="class mask file (ids, 255 = unlabelled)")
    parser.add_argument("--instances", help="instance-id mask file for --mask")
    parser.add_argument(
        "--image", help="the image --mask belongs to (file name, CRS and transform)"
    )
    parser.add_argument(
        "--classes", help="class names in id order (a,b,c) or a classes.json, for --mask"
    )
    parser.add_argument("--things", help="comma-separated class ids that have instances")
    parser.add_argument("--window", type=positive_int, default=2048, help="window size in pixels")
    parser.add_argument(
        "--simplify", type=float, default=0.0, help="polygon simplification, pixels"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace files an earlier export left in --out (never the project's images "
        "or any other input)",
    )
    parser.add_argument("--list", action="store_true", help="list the formats and exit")


def run(args: argparse.Namespace) -> int:
    from segcore.formats.base import ExportOptions
    from segcore.formats.exporter import export
    from segcore.formats.registry import list_formats

    if args.list:
        for fmt in list_formats():
            sys.stdout.write(f"{fmt.name:<15} {fmt.fidelity:<8} {fmt.description}\n")
        return 0
    if not args.format or not args.out:
        raise FormatError("give --format and --out (or --list)")
    if not math.isfinite(args.simplify) or args.simplify < 0:
        raise FormatError(f"--simplify {args.simplify}: give a distance of 0 or more pixels")
    options = ExportOptions(window=args.window, simplify=args.simplify)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise FormatError(f"{out}: --out is a file; give a folder to export into")
    closers = []
    project = None
    protected: list[Path] = [Path(p) for p in (args.mask, args.instances, args.image) if p]
    if args.classes and Path(args.classes).suffix.lower() == ".json":
        protected.append(Path(args.classes))
    if args.project:
        from segcore.cli.project import open_project
        from segcore.formats.project_io import project_inputs, project_items

        project = open_project(args.project, "export")
        ids = [i.strip() for i in args.images.split(",")] if args.images else None
        try:
            items = project_items(project, ids)
            protected += project_inputs(project)
        except BaseException:  # e.g. an image whose labels are lost: let go of the project
            project.close(save=False)
            raise
    elif args.mask:
        item, labels = _mask_item(args)
        items = [item]
        closers.append(labels.close)
    else:
        raise FormatError("give --project or --mask to say what to export")
    try:
        job = export(
            items, args.format, out, options=options, protected=protected, overwrite=args.overwrite
        )
        paths = run_job(job, "tessera export")
    finally:
        for close in closers:
            close()
        if project is not None:
            project.close(save=False)
    for path in paths:
        sys.stdout.write(f"{path}\n")
    return 0


def _mask_item(args: argparse.Namespace) -> tuple[ExportItem, SourceLabels]:
    """The export item for ``--mask`` (with ``--instances``, ``--image``, ``--classes``)."""
    from segcore.cli.evaluate import class_ids, class_names
    from segcore.formats.maskfile import MaskFile, highest_class, mask_labels
    from segcore.labels.schema import make_classes

    names = class_names(args.classes)
    things_ids = class_ids(args.things, "--things") if args.things else set()
    if names is None:
        names = [f"class {i}" for i in range(highest_class(args.mask, window=args.window) + 1)]
    classes = make_classes(names, {names[i] for i in things_ids if i < len(names)})
    labels = mask_labels(args.mask, classes, instances_path=args.instances)
    assert isinstance(labels.source, MaskFile)
    crs, transform = labels.source.crs, labels.source.transform
    image_file = Path(args.mask).name
    if args.image:
        from segcore.formats.project_io import image_georef

        image_crs, image_transform = image_georef(Path(args.image))
        crs, transform = image_crs or crs, image_transform or transform  # type: ignore[assignment]
        image_file = Path(args.image).name
    stem = Path(args.image or args.mask).stem
    return ExportItem(stem, labels, image_file=image_file, crs=crs, transform=transform), labels
