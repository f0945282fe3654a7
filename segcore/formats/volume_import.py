"""Import a label volume (NIfTI or DICOM-SEG) into one project image, checked first.

The file is read twice, one slice at a time: the first pass checks every
slice (grid, series, class values) and writes nothing, so a bad file imports
nothing; the second writes each slice's classes (instances cleared) and the
project is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segcore.errors import FormatError
from segcore.formats.volume import volume_geometry
from segcore.jobs import Job, Progress
from segcore.labels.schema import NO_INSTANCE

if TYPE_CHECKING:
    from segcore.project import Project

VOLUME_FORMATS = ("nifti", "dicom-seg")


def import_volume(project: Project, image_id: str, path: Path, format_name: str) -> Job[int]:
    """Replace image ``image_id``'s labels by the volume at ``path``; returns voxels labelled.

    Raises
    ------
    FormatError
        Naming ``path``: another grid or series, values past the classes, an
        unknown format; nothing is written then.
    """
    entry = project.image(image_id)
    store = project.label_store(image_id)
    geometry = volume_geometry(entry.path)
    geometry.check_labels(store, f"{path} for image {image_id}")
    planes = _planes_reader(format_name, Path(path), entry.path, project)
    depth = geometry.depth
    for z, _ in planes(geometry):
        yield Progress(z + 1, 2 * depth, message=f"checking slice {z + 1} of {depth}")
    w, h = geometry.plane_size
    no_instances = np.full((h, w), NO_INSTANCE, np.uint32)
    for z, plane in planes(geometry):
        target = store.plane(z)
        target.write("semantic", 0, 0, plane)
        target.write("instance", 0, 0, no_instances)
        yield Progress(depth + z + 1, 2 * depth, message=f"writing slice {z + 1} of {depth}")
    project.save()
    return store.labelled_pixels


def _planes_reader(
    format_name: str, path: Path, source: Path, project: Project
) -> Callable[..., Iterator[tuple[int, np.ndarray]]]:
    if format_name == "nifti":
        from segcore.formats.nifti_labels import read_nifti_planes

        n = len(project.classes)
        return lambda geometry: read_nifti_planes(path, geometry, n)
    if format_name == "dicom-seg":
        from segcore.formats.dicomseg import read_seg_planes

        return lambda geometry: read_seg_planes(path, source, project.classes)
    raise FormatError(
        f"{path}: {format_name!r} is not a label-volume format; use one of "
        f"{', '.join(VOLUME_FORMATS)}"
    )
