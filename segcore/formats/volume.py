"""What the label-volume formats (NIfTI, DICOM-SEG) share: the source's voxel grid.

A label volume's slice ``z`` is shown the way the image reader shows plane
``z`` (:mod:`segcore.io.nifti`, :mod:`segcore.io.dicom`). To write voxels in
the file's own order, and to read other tools' label volumes back, the
formats need that mapping and the voxel-to-patient affine: a
:class:`VolumeGeometry`, read from the image file by :func:`volume_geometry`.

Class values in volume files: 0 is no label, class id ``k`` is value ``k + 1``
(3D Slicer, ITK-SNAP and MONAI use 0 for background), so Tessera's 255
(unlabelled) never appears in a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from segcore.errors import FormatError
from segcore.labels.reader import LabelReader
from segcore.labels.schema import UNLABELLED

AFFINE_TOLERANCE_MM = 1e-3


class VolumeLabels(LabelReader, Protocol):
    """A label store with slices (:class:`~segcore.labels.store.LabelStore` is one)."""

    @property
    def depth(self) -> int: ...

    def plane(self, z: int) -> Any: ...


@dataclass(frozen=True)
class VolumeGeometry:
    """The voxel grid of an image file and how its planes map onto it.

    ``shape`` is the voxel array's shape ``(i, j, k)``, ``affine`` maps voxel
    indices to RAS millimetres, ``axis`` is the voxel axis running through the
    planes; ``flip_rows`` says plane rows run against the second in-plane
    axis (NIfTI's radiological view) rather than along it (DICOM rows).
    """

    path: Path
    shape: tuple[int, int, int]
    affine: np.ndarray
    axis: int
    flip_rows: bool
    kind: str  # "nifti", "dicom" or "stack" (a z-stack: spacing only, no orientation)
    header: Any = None  # the nibabel header of a NIfTI source

    @property
    def depth(self) -> int:
        return self.shape[self.axis]

    @property
    def plane_size(self) -> tuple[int, int]:
        """(width, height) of a plane as the image reader shows it."""
        a, b = (n for i, n in enumerate(self.shape) if i != self.axis)
        return a, b

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along i, j, k."""
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    def to_voxels(self, plane: np.ndarray) -> np.ndarray:
        """A plane ``(rows, cols)`` as the voxel slice ``(n_a, n_b)`` of the file."""
        return np.ascontiguousarray((plane[::-1] if self.flip_rows else plane).T)

    def to_plane(self, voxels: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_voxels`."""
        plane = voxels.T
        return np.ascontiguousarray(plane[::-1] if self.flip_rows else plane)

    def index(self, z: int) -> tuple[Any, ...]:
        """Index of voxel slice ``z`` in the ``(i, j, k)`` array."""
        index: list[Any] = [slice(None)] * 3
        index[self.axis] = z
        return tuple(index)

    def check_labels(self, labels: VolumeLabels, name: str) -> None:
        """FormatError unless ``labels`` has this grid's planes, one per slice."""
        w, h = self.plane_size
        if (labels.width, labels.height, labels.depth) != (w, h, self.depth):
            raise FormatError(
                f"{name}: the labels are {labels.width}x{labels.height}x{labels.depth} but "
                f"{self.path} is {w}x{h}x{self.depth}; volume formats need one label map "
                "per slice (a project made before label volumes keeps 2-D labels)"
            )


def volume_geometry(path: Path) -> VolumeGeometry:
    """The voxel grid of a NIfTI or DICOM image file (FormatError naming it otherwise)."""
    from segcore.errors import TesseraError
    from segcore.io.opener import open_image

    try:
        source = open_image(path)
    except TesseraError as exc:
        raise FormatError(f"{path}: cannot read the image's geometry: {exc}") from exc
    try:
        meta = source.metadata
        if meta.format == "nifti":
            return _nifti_geometry(path, int(meta.extra.get("slice_axis", 2)))
        if meta.format == "dicom":
            return _dicom_geometry(path)
        if source.depth > 1:  # a z-stack (TIFF, zarr): its spacing, no patient orientation
            spacing = list(meta.pixel_spacing or ()) + [1.0] * 3
            affine = np.diag([*(float(v) for v in spacing[:3]), 1.0])
            shape = (source.width, source.height, source.depth)
            return VolumeGeometry(path, shape, affine, 2, False, "stack")
    finally:
        source.close()
    raise FormatError(
        f"{path} is a 2-D {meta.format} image; NIfTI and DICOM-SEG label volumes need a "
        "volume (NIfTI, DICOM, or a z-stack) as their image"
    )


def _nifti_geometry(path: Path, axis: int) -> VolumeGeometry:
    import nibabel as nib

    image: Any = nib.load(path)
    shape = tuple(int(n) for n in image.shape)
    if len(shape) != 3:
        raise FormatError(f"{path} has shape {shape}; label volumes need a 3-D NIfTI image")
    return VolumeGeometry(
        path, shape, np.asarray(image.affine, float), axis, True, "nifti", image.header
    )


def _dicom_geometry(path: Path) -> VolumeGeometry:
    """Voxel (column, row, frame) to RAS mm from the frames' position and orientation."""
    import pydicom

    from segcore.io.dicom import frame_attribute

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rows, cols = int(ds.Rows), int(ds.Columns)
    affine = np.eye(4)
    orient = frame_attribute(ds, "ImageOrientationPatient", "PlaneOrientationSequence", 0)
    first = frame_attribute(ds, "ImagePositionPatient", "PlanePositionSequence", 0)
    spacing = frame_attribute(ds, "PixelSpacing", "PixelMeasuresSequence", 0)
    if orient is not None and first is not None and spacing is not None:
        along_row, along_col = np.array(orient[:3], float), np.array(orient[3:], float)
        origin = np.array(first, float)
        step = np.cross(along_row, along_col)
        thickness = frame_attribute(ds, "SliceThickness", "PixelMeasuresSequence", 0)
        step = step * float(thickness or 1.0)
        if frames > 1:
            last = frame_attribute(ds, "ImagePositionPatient", "PlanePositionSequence", frames - 1)
            if last is not None:
                step = (np.array(last, float) - origin) / (frames - 1)
        lps = np.column_stack(
            [along_row * float(spacing[1]), along_col * float(spacing[0]), step, origin]
        )
        affine[:3, :] = lps * np.array([[-1.0], [-1.0], [1.0]])  # LPS -> RAS
    return VolumeGeometry(path, (cols, rows, frames), affine, 2, False, "dicom")


def class_values(plane: np.ndarray) -> np.ndarray:
    """Class ids (255 = unlabelled) as file values (0 = none, id + 1)."""
    out = plane + np.uint8(1)  # ids 0..254 -> 1..255
    out[plane == UNLABELLED] = 0
    return out


def plane_classes(values: np.ndarray, n_classes: int, where: str) -> np.ndarray:
    """File values back to class ids; FormatError naming ``where`` for a value past the classes."""
    if values.size and (values.min() < 0 or values.max() > n_classes):
        bad = int(values.max()) if values.max() > n_classes else int(values.min())
        raise FormatError(
            f"{where}: label value {bad} is not 0 (none) or 1..{n_classes} (the project's "
            f"{n_classes} classes); map the labels to the project's classes first"
        )
    out = (values.astype(np.int64) - 1).astype(np.uint8)
    out[values == 0] = UNLABELLED
    return out


def same_affine(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, atol=AFFINE_TOLERANCE_MM, rtol=0))
