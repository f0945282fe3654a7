"""NIfTI label volumes (``.nii.gz``): export with the image's affine, import checked against it.

The file is written slice by slice: a NIfTI-1 header made by nibabel from the
source's header (its qform and sform, codes included, so orientation and
spacing are those of the image), then the voxels in the file's order. When
the planes run along the last voxel axis (axial slices of an RAS file, every
DICOM volume) each plane is a contiguous run of the file and memory stays at
a few slices; for other slice axes the uint8 voxel array is assembled first.

Values: 0 = no label, class id ``k`` = ``k + 1`` (see :mod:`segcore.formats.volume`).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import FormatError
from segcore.formats.base import ExportItem, Imported, Writer, safe_stem, write_class_file
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.formats.volume import (
    VolumeGeometry,
    VolumeLabels,
    class_values,
    plane_classes,
    same_affine,
    volume_geometry,
)
from segcore.jobs import Job, Progress
from segcore.labels.schema import make_classes

NIFTI1_MAX_DIM = 32767  # dims are int16 in NIfTI-1
NIFTI_INTENT_LABEL = "label"


def volume_labels(item: ExportItem) -> tuple[VolumeLabels, VolumeGeometry]:
    """The item's label volume and its image's grid, checked to match."""
    if item.source is None:
        raise FormatError(f"{item.name}: volume formats need the image file (export a project)")
    labels: Any = item.labels
    geometry = volume_geometry(item.source)
    if not hasattr(labels, "plane") or not hasattr(labels, "depth"):
        w, h = geometry.plane_size
        raise FormatError(
            f"{item.name}: these labels are one 2-D map; {geometry.path.name} has "
            f"{geometry.depth} slices of {w}x{h}: label it in a project (a label volume)"
        )
    geometry.check_labels(labels, item.name)
    return labels, geometry


def label_header(geometry: VolumeGeometry) -> Any:
    """A NIfTI-1 uint8 label header with the source's grid, qform and sform."""
    import nibabel as nib

    if max(geometry.shape) > NIFTI1_MAX_DIM:
        raise FormatError(
            f"{geometry.path}: {geometry.shape} voxels is too large for a NIfTI-1 file "
            f"(at most {NIFTI1_MAX_DIM} per axis); export DICOM-SEG or crop the volume"
        )
    header: Any = nib.Nifti1Header()  # type: ignore[no-untyped-call]
    header.set_data_shape(geometry.shape)
    header.set_data_dtype(np.uint8)
    source: Any = geometry.header
    if source is not None:
        qform, qcode = source.get_qform(coded=True)
        sform, scode = source.get_sform(coded=True)
        header.set_qform(qform if qform is not None else geometry.affine, int(qcode) or 1)
        header.set_sform(sform if sform is not None else geometry.affine, int(scode) or 1)
        header.set_xyzt_units(*source.get_xyzt_units())
    else:  # a DICOM volume: scanner coordinates
        header.set_qform(geometry.affine, 1)
        header.set_sform(geometry.affine, 1)
        header.set_xyzt_units("mm")
    header.set_intent(NIFTI_INTENT_LABEL)
    header["descrip"] = b"Tessera label volume"
    header.set_data_offset(352)
    return header


def write_label_nifti(labels: VolumeLabels, geometry: VolumeGeometry, path: Path) -> Job[None]:
    """Write ``labels`` as a gzipped NIfTI-1 label volume at ``path``, slice by slice."""
    header = label_header(geometry)
    depth = geometry.depth
    w, h = geometry.plane_size
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(header.binaryblock)
        f.write(b"\0" * 4)  # no extensions
        whole = None if geometry.axis == 2 else np.zeros(geometry.shape, np.uint8, order="F")
        for z in range(depth):
            plane = labels.plane(z).read("semantic", 0, 0, w, h)
            voxels = geometry.to_voxels(class_values(plane))
            if whole is None:
                f.write(np.asfortranarray(voxels).tobytes(order="F"))
            else:
                whole[geometry.index(z)] = voxels
            yield Progress(z + 1, depth, message=f"slice {z + 1} of {depth}")
        if whole is not None:
            f.write(whole.tobytes(order="F"))


class NiftiLabelWriter(Writer):
    """``<name>.nii.gz``: the label volume on the image's voxel grid, and ``classes.json``."""

    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{_stem(item)}.nii.gz"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        labels, geometry = volume_labels(item)
        yield from write_label_nifti(labels, geometry, staging.path(self.outputs(item)[0]))

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


def _stem(item: ExportItem) -> str:
    stem = safe_stem(item.name)
    return stem[: -len(".nii")] if stem.endswith(".nii") else stem


def check_nifti_labels(path: Path, geometry: VolumeGeometry) -> Any:
    """The nibabel image of a label volume at ``path``, checked against the image's grid.

    Raises
    ------
    FormatError
        Naming ``path``: not NIfTI, not integer, another shape or another affine.
    """
    import nibabel as nib

    try:
        image: Any = nib.load(path, keep_file_open=True)  # slices in order: gzip reads on
        shape = tuple(int(n) for n in image.shape)
        dtype = np.dtype(image.get_data_dtype())
    except Exception as exc:  # nibabel raises many types for a bad file
        raise FormatError(f"{path}: not a readable NIfTI file: {exc}") from exc
    if shape != geometry.shape:
        raise FormatError(
            f"{path}: the label volume is {'x'.join(map(str, shape))} voxels but the image "
            f"{geometry.path.name} is {'x'.join(map(str, geometry.shape))}; it belongs to "
            "another image (or was resampled): export it on the image's grid"
        )
    if not same_affine(np.asarray(image.affine), geometry.affine):
        raise FormatError(
            f"{path}: its affine (voxel to mm) differs from the image {geometry.path.name}'s "
            "by more than 0.001 mm; it is on another grid or orientation: resample it to the "
            "image first"
        )
    if dtype.kind not in "iub":
        raise FormatError(f"{path}: voxels are {dtype}, not integer labels")
    return image


def read_nifti_planes(
    path: Path, geometry: VolumeGeometry, n_classes: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(slice, class plane) of a checked label volume, one slice in memory at a time."""
    image = check_nifti_labels(path, geometry)
    for z in range(geometry.depth):
        values = np.asarray(image.dataobj[geometry.index(z)])
        yield z, geometry.to_plane(plane_classes(values, n_classes, f"{path} slice {z}"))


def read_nifti_summary(path: Path) -> Imported:
    """What ``tessera import`` prints without a project: the label values used, no images.

    Reads the volume one slice at a time. A label volume is imported into one
    project image (``--image``), where its grid is checked (:func:`read_nifti_planes`).
    """
    import nibabel as nib

    try:
        image: Any = nib.load(path, keep_file_open=True)  # slices in order: gzip reads on
        top = 0
        for k in range(int(image.shape[-1]) if len(image.shape) >= 3 else 1):
            part = image.dataobj[..., k] if len(image.shape) >= 3 else image.dataobj
            top = max(top, int(np.max(np.asarray(part))))
    except Exception as exc:  # nibabel raises many types for a bad file
        raise FormatError(f"{path}: not a readable NIfTI file: {exc}") from exc
    names = [f"label {v}" for v in range(1, top + 1)]
    return Imported(make_classes(names) if names else [], [])


register(
    Format(
        "nifti",
        "NIfTI label volume (.nii.gz) on the image's grid; 0 = none, class k = k+1",
        kind="volume",
        fidelity="classes",
        writer=NiftiLabelWriter,
        reader=read_nifti_summary,
    )
)
