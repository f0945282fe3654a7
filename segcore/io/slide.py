"""Whole-slide images (SVS, NDPI, MRXS, SCN, DICOM WSI, pyramidal TIFF) via openslide.

OpenSlide returns RGBA with transparent pixels where a scanner left no
tissue; those are composited onto the slide's background colour (white unless
the file says otherwise), so a source has three bands, red, green and blue.
The C library is thread-safe, so one handle serves every thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.base import BaseSource, Layout
from segcore.io.source import SourceMetadata


class SlideSource(BaseSource):
    """A slide openslide can open; its levels are the scanner's pyramid."""

    def __init__(self, path: Path) -> None:
        import openslide

        try:
            self._slide = openslide.OpenSlide(str(path))
        except (openslide.OpenSlideError, OSError) as exc:
            raise SourceError(path, f"openslide cannot read this slide: {exc}") from exc
        slide = self._slide
        props = dict(slide.properties)
        layout = Layout(
            sizes=tuple((int(w), int(h)) for w, h in slide.level_dimensions),
            bands=3,
            dtype=np.dtype(np.uint8),
            band_names=("red", "green", "blue"),
            downsamples=tuple(float(d) for d in slide.level_downsamples),
        )
        mpp = None
        if openslide.PROPERTY_NAME_MPP_X in props and openslide.PROPERTY_NAME_MPP_Y in props:
            mpp = (
                float(props[openslide.PROPERTY_NAME_MPP_X]),
                float(props[openslide.PROPERTY_NAME_MPP_Y]),
            )
        extra: dict[str, Any] = {"vendor": props.get(openslide.PROPERTY_NAME_VENDOR)}
        power = props.get(openslide.PROPERTY_NAME_OBJECTIVE_POWER)
        if power is not None:
            extra["objective_power"] = float(power)
        background = props.get(openslide.PROPERTY_NAME_BACKGROUND_COLOR, "FFFFFF")
        self._background = np.array([int(background[i : i + 2], 16) for i in (0, 2, 4)], np.float32)
        super().__init__(path, layout, SourceMetadata(format="slide", mpp=mpp, extra=extra))

    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        scale = self.level_downsamples[level]
        # openslide wants the top-left corner in level-0 coordinates
        location = (round(x0 * scale), round(y0 * scale))
        image = self._slide.read_region(location, level, (x1 - x0, y1 - y0))
        rgba = np.asarray(image)
        if rgba[..., 3].min() == 255:
            return rgba[..., :3].copy()
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0
        rgb = rgba[..., :3] * alpha + self._background * (1.0 - alpha)
        return np.asarray(np.rint(rgb), np.uint8)

    def _release(self) -> None:
        self._slide.close()
