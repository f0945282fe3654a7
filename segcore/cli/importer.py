"""``tessera import``: read a dataset in one of the export formats, check it, write it to a project.

Without ``--project`` the dataset is only checked and summarised. With it,
classes are matched by name and ``--map OLD=NEW`` maps the rest (``OLD=``
drops a class); any problem stops the import before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from segcore.errors import FormatError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "import",
        help="import labels from dataset formats into a project",
        description="Import labels (COCO, panoptic, VOC, Cityscapes, labelme, YOLO, masks, "
        "GeoJSON/GeoPackage) into a project; without --project, only check the dataset.",
    )
    parser.add_argument("path", help="dataset folder or file")
    parser.add_argument("--format", "-f", required=True, help="dataset format (see export --list)")
    parser.add_argument("--project", help="project folder to import into")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="map an imported class name to a project class (OLD= drops it); repeatable",
    )
    parser.add_argument(
        "--merge", action="store_true", help="keep existing labels where the import has none"
    )
    parser.add_argument("--images", help="folder of the dataset's images (checked to exist)")
    parser.add_argument(
        "--like", help="image whose grid (size, CRS, transform) vector files are rasterised to"
    )
    parser.add_argument(
        "--image", help="project image id a label volume (nifti, dicom-seg) is imported into"
    )


def parse_mapping(pairs: list[str]) -> dict[str, str | None]:
    """``["a=b", "c="]`` -> ``{"a": "b", "c": None}``."""
    mapping: dict[str, str | None] = {}
    for pair in pairs:
        if "=" not in pair:
            raise FormatError(f"--map {pair!r}: write OLD=NEW (or OLD= to drop the class)")
        old, new = pair.split("=", 1)
        mapping[old.strip()] = new.strip() or None
    return mapping


def _import_volume(args: argparse.Namespace, project: Any) -> int:
    """A NIfTI or DICOM-SEG label volume into project image ``--image``."""
    from segcore.cli.progress import run_job
    from segcore.formats.volume_import import import_volume

    if not args.image:
        ids = ", ".join(e.id for e in project.images)
        raise FormatError(f"{args.path}: say which image it labels with --image (one of {ids})")
    job = import_volume(project, args.image, Path(args.path), args.format)
    voxels = run_job(job, "tessera import")
    sys.stdout.write(f"{args.path} -> {args.image}: {voxels} labelled voxels\n")
    return 0


def run(args: argparse.Namespace) -> int:
    from segcore.formats.base import Imported
    from segcore.formats.project_io import read_vectors_for_project
    from segcore.formats.registry import get_format, import_labels
    from segcore.formats.vector import image_grid

    fmt = get_format(args.format)
    path = Path(args.path)
    context: dict[str, Any] = {"images_dir": Path(args.images) if args.images else None}
    project = None
    if args.project:
        from segcore.cli.project import open_project

        project = open_project(args.project, "import")
    try:
        if fmt.kind == "volume" and project is not None:
            return _import_volume(args, project)
        if fmt.kind == "vector" and args.like:
            imported = import_labels(fmt.name, path, **context, **image_grid(Path(args.like)))
        elif fmt.kind == "vector" and project is not None:
            imported = read_vectors_for_project(fmt.name, path, project)
        else:
            imported = import_labels(fmt.name, path, **context)
        assert isinstance(imported, Imported)
        names = ", ".join(c.name for c in imported.classes)
        sys.stdout.write(f"{len(imported.images)} image(s); classes: {names}\n")
        if project is None:
            return 0
        from segcore.cli.progress import run_job
        from segcore.formats.project_io import import_job

        mapping = parse_mapping(args.map)
        job = import_job(project, imported, mapping=mapping, merge=args.merge)
        report = run_job(job, "tessera import")
        for name, image_id in report.images.items():
            sys.stdout.write(f"{name} -> {image_id}\n")
        sys.stdout.write(f"{report.labelled_pixels} labelled pixels imported\n")
        return 0
    finally:
        if project is not None:
            project.close(save=False)
