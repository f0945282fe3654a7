"""DICOM images, single- and multi-frame, through pydicom.

Frames are planes (``z``). A frame is decoded on its own from the file (JPEG,
JPEG 2000, JPEG-LS and RLE through the pylibjpeg plugins), so a 1000-frame
study never sits in memory whole; the last few decoded frames are kept.
Stored values go through the rescale slope and intercept (Hounsfield units for
CT), looked up per frame in enhanced multi-frame files. Colour frames come
out as RGB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.base import BaseSource, Layout, check_size
from segcore.io.source import SourceMetadata

KEEP_FRAMES = 4
_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


class DicomSource(BaseSource):
    """A DICOM file with pixel data; frames are planes."""

    def __init__(self, path: Path) -> None:
        import pydicom

        try:
            ds = pydicom.dcmread(path, defer_size="64 KB")
        except Exception as exc:
            raise SourceError(path, f"not a readable DICOM file: {exc}") from exc
        if not any(tag in ds for tag in _PIXEL_TAGS):
            kind = ds.get("Modality", "unknown modality")
            raise SourceError(path, f"DICOM file has no pixel data ({kind}); nothing to show")
        try:
            rows, cols = int(ds.Rows), int(ds.Columns)
            samples = int(ds.get("SamplesPerPixel", 1))
            bits = int(ds.get("BitsAllocated", 8))
            frames = int(ds.get("NumberOfFrames", 1) or 1)
        except (AttributeError, TypeError, ValueError) as exc:
            reason = f"DICOM image attributes are missing or invalid: {exc}"
            raise SourceError(path, reason) from exc
        check_size(path, rows * cols * samples * max(bits // 8, 1), f"one {cols}x{rows} frame")
        self._rescale = [_rescale(ds, i) for i in range(frames)]
        stored = _stored_dtype(ds)
        dtype = _output_dtype(stored, self._rescale)
        names = ("red", "green", "blue") if samples == 3 else ("gray",) if samples == 1 else ()
        layout = Layout(
            sizes=((cols, rows),), bands=samples, dtype=dtype, depth=frames, band_names=names
        )
        super().__init__(path, layout, _metadata(ds, frames))
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    in_memory = True  # frames are decoded whole; lazy levels need not go to disk

    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        return self._frame(z)[y0:y1, x0:x1].copy()  # the frame stays cached

    def _frame(self, z: int) -> np.ndarray:
        with self._lock:
            if z in self._frames:
                self._frames.move_to_end(z)
                return self._frames[z]
        from pydicom.pixels import pixel_array  # type: ignore[attr-defined]

        stored = pixel_array(str(self.path), index=z if self.depth > 1 else None)
        slope, intercept = self._rescale[z]
        frame = stored if (slope, intercept) == (1.0, 0.0) else stored * slope + intercept
        if frame.ndim == 2:
            frame = frame[..., None]
        frame = frame.astype(self.dtype, copy=False)
        with self._lock:
            self._frames[z] = frame
            while len(self._frames) > KEEP_FRAMES:
                self._frames.popitem(last=False)
        return frame

    def _release(self) -> None:
        with self._lock:
            self._frames.clear()


def _stored_dtype(ds: Any) -> np.dtype[Any]:
    if "FloatPixelData" in ds:
        return np.dtype(np.float32)
    if "DoubleFloatPixelData" in ds:
        return np.dtype(np.float64)
    bits = int(ds.get("BitsAllocated", 8))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    size = 1 if bits <= 8 else 2 if bits <= 16 else 4
    return np.dtype(f"{'i' if signed else 'u'}{size}")


def _output_dtype(stored: np.dtype[Any], rescale: list[tuple[float, float]]) -> np.dtype[Any]:
    if all(r == (1.0, 0.0) for r in rescale):
        return stored
    integral = all(s.is_integer() and i.is_integer() for s, i in rescale)
    return np.dtype(np.int32 if integral and stored.itemsize <= 2 else np.float32)


def _find(ds: Any, keyword: str, sequence: str, frame: int) -> Any:
    """An attribute from the top level, else the per-frame or shared functional groups."""
    if keyword in ds:
        return ds.get(keyword)
    groups = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and frame < len(per_frame):
        groups.append(per_frame[frame])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    for group in groups:
        items = group.get(sequence)
        if items and keyword in items[0]:
            return items[0].get(keyword)
    return None


def frame_attribute(ds: Any, keyword: str, sequence: str, frame: int) -> Any:
    """``keyword`` of ``frame`` (0-based): top level, else per-frame, else shared groups
    (``sequence`` names the functional group holding it, e.g. PlanePositionSequence)."""
    return _find(ds, keyword, sequence, frame)


def _rescale(ds: Any, frame: int) -> tuple[float, float]:
    slope = _find(ds, "RescaleSlope", "PixelValueTransformationSequence", frame)
    intercept = _find(ds, "RescaleIntercept", "PixelValueTransformationSequence", frame)
    return (float(slope) if slope is not None else 1.0, float(intercept or 0.0))


def _first(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, list | tuple) or hasattr(value, "__len__") and not isinstance(value, str):
        value = value[0] if len(value) else None
    return None if value is None else float(value)


def _metadata(ds: Any, frames: int) -> SourceMetadata:
    spacing = _find(ds, "PixelSpacing", "PixelMeasuresSequence", 0)
    if spacing is None:
        spacing = ds.get("ImagerPixelSpacing")
    pixel_spacing: tuple[float, ...] | None = None
    if spacing is not None and len(spacing) == 2 and min(float(v) for v in spacing) > 0:
        pixel_spacing = (float(spacing[1]), float(spacing[0]))  # (x = column, y = row)
        between = _find(ds, "SpacingBetweenSlices", "PixelMeasuresSequence", 0)
        thickness = between or _find(ds, "SliceThickness", "PixelMeasuresSequence", 0)
        if frames > 1 and thickness is not None:
            pixel_spacing += (float(thickness),)
    centre = _first(_find(ds, "WindowCenter", "FrameVOILUTSequence", 0))
    width = _first(_find(ds, "WindowWidth", "FrameVOILUTSequence", 0))
    extra: dict[str, Any] = {
        "photometric": str(ds.get("PhotometricInterpretation", "")),
        "transfer_syntax": str(ds.file_meta.get("TransferSyntaxUID", "")),
    }
    sop = ds.get("SOPClassUID")
    if sop is not None:
        extra["sop_class"] = getattr(sop, "name", str(sop))
    return SourceMetadata(
        format="dicom",
        pixel_spacing=pixel_spacing,
        modality=str(ds.get("Modality")) if "Modality" in ds else None,
        window=(centre, width) if centre is not None and width is not None else None,
        extra=extra,
    )
