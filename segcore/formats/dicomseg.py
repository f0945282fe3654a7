"""DICOM-SEG label volumes through highdicom: one segment per class, on the source's frames.

Export needs a DICOM image (a multi-frame file, as :mod:`segcore.io.dicom`
reads it): the Segmentation references its series and instance, frame ``z``
segments source frame ``z + 1``, and each class that has labels becomes a
segment with the class's name and colour (CIELab, as DICOM stores it).
Empty frames are left out (highdicom's default). highdicom builds the whole
object in memory: a DICOM-SEG costs one byte per voxel while it is written,
unlike NIfTI, which is streamed.

Import checks that the segmentation references the image's own series, maps
segments to project classes by label (else by number: segment ``k`` is class
``k - 1``) and returns one class plane per frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import FormatError
from segcore.formats.base import ExportItem, Imported, Writer, safe_stem, write_class_file
from segcore.formats.nifti_labels import volume_labels
from segcore.formats.registry import Format, register
from segcore.formats.staging import Staging
from segcore.jobs import Job, Progress
from segcore.labels.schema import UNLABELLED, ClassInfo, make_classes

MAX_SEG_BYTES = 2**32 - 2  # one DICOM pixel data element (OB, 32-bit length)


def _source_dataset(path: Path) -> Any:
    import pydicom

    try:
        return pydicom.dcmread(path)
    except Exception as exc:  # pydicom raises many types for a bad file
        raise FormatError(f"{path}: not a readable DICOM file: {exc}") from exc


def segment_descriptions(classes: Sequence[ClassInfo], used: Sequence[int]) -> list[Any]:
    """highdicom segment descriptions for the class ids ``used`` (segment = id + 1)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    by_id = {c.id: c for c in classes}
    out = []
    for class_id in used:
        info = by_id.get(class_id)
        name = info.name if info is not None else f"class {class_id}"
        rgb = info.color if info is not None else (255, 255, 0)
        out.append(
            hd.seg.SegmentDescription(
                segment_number=class_id + 1,
                segment_label=name,
                segmented_property_category=codes.SCT.Tissue,
                segmented_property_type=codes.SCT.Tissue,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
                display_color=hd.color.CIELabColor.from_rgb(*(int(v) for v in rgb[:3])),
            )
        )
    return out


def write_dicom_seg(item: ExportItem, path: Path) -> Job[None]:
    """Write ``item``'s label volume as a DICOM-SEG referencing its DICOM source."""
    import highdicom as hd

    labels, geometry = volume_labels(item)
    if geometry.kind != "dicom":
        raise FormatError(
            f"{item.name}: DICOM-SEG references a DICOM series, but {geometry.path.name} is "
            f"{geometry.kind}; export NIfTI for this image"
        )
    w, h = geometry.plane_size
    depth = geometry.depth
    n_classes = max((c.id for c in labels.classes), default=0) + 1
    if n_classes * depth * w * h / 8 > MAX_SEG_BYTES:
        raise FormatError(
            f"{geometry.path}: {n_classes} segments of {w}x{h}x{depth} voxels are too large for "
            "one DICOM-SEG file (4 GiB of pixel data); export NIfTI"
        )
    frames = np.zeros((depth, h, w), np.uint8)  # segment numbers, 0 = none
    for z in range(depth):
        plane = labels.plane(z).read("semantic", 0, 0, w, h)
        frames[z] = np.where(plane == UNLABELLED, 0, plane.astype(np.uint16) + 1)
        yield Progress(z + 1, depth + 1, message=f"slice {z + 1} of {depth}")
    top = int(frames.max())
    if top == 0:
        raise FormatError(f"{item.name}: no slice has labels; nothing to write as DICOM-SEG")
    used = list(range(top))  # DICOM numbers segments 1, 2, ... without gaps
    source = _source_dataset(geometry.path)
    seg = hd.seg.Segmentation(
        source_images=[source],
        pixel_array=frames,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segment_descriptions(labels.classes, used),
        series_instance_uid=hd.UID(),
        series_number=int(source.get("SeriesNumber", 0) or 0) + 100,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Tessera",
        manufacturer_model_name="Tessera",
        software_versions="Tessera",
        device_serial_number="0",
        series_description="Tessera labels",
    )
    seg.save_as(path)
    yield Progress(depth + 1, depth + 1, message="written")


class DicomSegWriter(Writer):
    """``<name>.seg.dcm``: a DICOM Segmentation of the image's series, and ``classes.json``."""

    def outputs(self, item: ExportItem) -> list[str]:
        return [f"{safe_stem(item.name)}.seg.dcm"]

    def add(self, item: ExportItem, staging: Staging) -> Job[None]:
        yield from write_dicom_seg(item, staging.path(self.outputs(item)[0]))

    def finish(self, staging: Staging) -> None:
        write_class_file(staging, self.classes)


def read_seg(path: Path) -> Any:
    """The highdicom Segmentation at ``path`` (FormatError naming the file)."""
    import highdicom as hd

    try:
        return hd.seg.segread(path)
    except Exception as exc:  # pydicom/highdicom raise many types for a bad file
        raise FormatError(f"{path}: not a readable DICOM-SEG file: {exc}") from exc


def segment_classes(seg: Any, classes: Sequence[ClassInfo], where: Path) -> dict[int, int]:
    """segment number -> class id: by label when a class has that name, else number - 1."""
    by_name = {c.name: c.id for c in classes}
    ids = {c.id for c in classes}
    out = {}
    for number in seg.get_segment_numbers():
        label = str(seg.get_segment_description(number).segment_label)
        class_id = by_name.get(label, int(number) - 1)
        if class_id not in ids:
            raise FormatError(
                f"{where}: segment {number} ({label!r}) matches no project class by name or "
                "number; rename the segment or add the class"
            )
        out[int(number)] = class_id
    return out


def read_seg_planes(
    path: Path, source: Path, classes: Sequence[ClassInfo]
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame, class plane) of a DICOM-SEG of the DICOM image ``source``, checked first."""
    seg = read_seg(path)
    image = _source_dataset(source)
    series = {str(s.SeriesInstanceUID) for s in seg.get("ReferencedSeriesSequence", [])}
    if str(image.SeriesInstanceUID) not in series:
        raise FormatError(
            f"{path}: it segments series {', '.join(sorted(series)) or '(none)'}, not the "
            f"image {source.name}'s series {image.SeriesInstanceUID}; import it into that image"
        )
    mapping = segment_classes(seg, classes, path)
    frames = int(image.get("NumberOfFrames", 1) or 1)
    numbers = list(range(1, frames + 1))
    lut = np.full(max(mapping, default=0) + 1, UNLABELLED, np.uint8)
    for number, class_id in mapping.items():
        lut[number] = class_id
    try:
        pixels = seg.get_pixels_by_source_frame(
            source_sop_instance_uid=str(image.SOPInstanceUID),
            source_frame_numbers=numbers,
            combine_segments=True,
            skip_overlap_checks=True,
        )
    except Exception as exc:  # highdicom raises ValueError/KeyError/RuntimeError here
        raise FormatError(f"{path}: its frames cannot be matched to {source.name}: {exc}") from exc
    rows, cols = int(image.Rows), int(image.Columns)
    if pixels.shape != (frames, rows, cols):
        raise FormatError(
            f"{path}: frames of {pixels.shape[2]}x{pixels.shape[1]} do not match the image's "
            f"{cols}x{rows}"
        )
    for z in range(frames):
        yield z, lut[np.asarray(pixels[z], np.int64)]


def read_seg_summary(path: Path) -> Imported:
    """What ``tessera import`` prints without a project: the segments' labels, no images."""
    seg = read_seg(path)
    names = [str(seg.get_segment_description(n).segment_label) for n in seg.get_segment_numbers()]
    return Imported(make_classes(names) if names else [], [])


register(
    Format(
        "dicom-seg",
        "DICOM Segmentation of a DICOM volume's series, one segment per class",
        kind="volume",
        fidelity="classes",
        writer=DicomSegWriter,
        reader=read_seg_summary,
    )
)
