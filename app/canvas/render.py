"""Turn pixel arrays into QImages: band choice, contrast stretch, gamma, colour maps.

Everything here runs in tile worker threads (QImage, unlike QPixmap, may be
made off the GUI thread). A :class:`Display` is frozen and hashable so it can
be part of a tile cache key: changing the stretch re-renders cached raw tiles
without reading them again.

Integer images go through a lookup table per band (256 or 65,536 entries),
which is several times faster than float arithmetic on every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from PySide6.QtGui import QImage

from segcore.io.source import SourceMetadata

ColormapName = Literal["gray", "viridis", "magma", "turbo", "heat"]
COLORMAPS: tuple[ColormapName, ...] = ("gray", "viridis", "magma", "turbo", "heat")

# Anchor colours of each map, interpolated linearly to 256 entries. The anchors
# are read off the published maps at nine evenly spaced points.
_ANCHORS: dict[str, list[tuple[int, int, int]]] = {
    "gray": [(0, 0, 0), (255, 255, 255)],
    "viridis": [
        (68, 1, 84),
        (71, 45, 123),
        (59, 82, 139),
        (44, 114, 142),
        (33, 145, 140),
        (40, 174, 128),
        (94, 201, 98),
        (173, 220, 48),
        (253, 231, 37),
    ],  # fmt: skip
    "magma": [
        (0, 0, 4),
        (28, 16, 68),
        (79, 18, 123),
        (129, 37, 129),
        (181, 54, 122),
        (229, 80, 100),
        (251, 135, 97),
        (254, 194, 135),
        (252, 253, 191),
    ],  # fmt: skip
    "turbo": [
        (48, 18, 59),
        (70, 107, 227),
        (40, 187, 236),
        (49, 242, 153),
        (162, 252, 60),
        (237, 208, 58),
        (251, 128, 34),
        (208, 47, 5),
        (122, 4, 3),
    ],  # fmt: skip
    "heat": [(0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0)],
}

# (centre, width) in Hounsfield units, the usual radiology presets.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "Soft tissue": (40.0, 400.0),
    "Lung": (-600.0, 1500.0),
    "Bone": (400.0, 1800.0),
    "Brain": (40.0, 80.0),
    "Abdomen": (60.0, 400.0),
}


@lru_cache(maxsize=16)
def colormap_table(name: str) -> np.ndarray:
    """(256, 3) uint8 colours of colour map ``name``."""
    anchors = np.array(_ANCHORS[name], np.float64)
    pos = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, 256)
    cols = [np.interp(t, pos, anchors[:, c]) for c in range(3)]
    return np.round(np.stack(cols, axis=-1)).astype(np.uint8)


@dataclass(frozen=True)
class Display:
    """How to show an image: which bands, their stretch, gamma and colour map.

    ``bands`` holds three indices (shown as R, G, B) or one (shown through
    ``colormap``); ``low``/``high`` give the stretch of each shown band.
    """

    bands: tuple[int, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    gamma: float = 1.0
    colormap: ColormapName = "gray"

    @property
    def is_rgb(self) -> bool:
        return len(self.bands) == 3

    def with_window(self, centre: float, width: float) -> Display:
        """The same bands shown through a DICOM-style window (centre, width)."""
        lo, hi = centre - width / 2.0, centre + width / 2.0
        n = len(self.bands)
        return replace(self, low=(lo,) * n, high=(hi,) * n)


def percentile_stretch(
    pixels: np.ndarray,
    bands: tuple[int, ...],
    *,
    percentiles: tuple[float, float] = (2.0, 98.0),
    nodata: float | None = None,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-band (low, high) percentiles of ``pixels`` (h, w, b), skipping nodata and NaN."""
    lows: list[float] = []
    highs: list[float] = []
    for b in bands:
        values = pixels[..., b].astype(np.float64).ravel()
        keep = np.isfinite(values)
        if nodata is not None:
            keep &= values != nodata
        values = values[keep]
        if values.size == 0:
            lows.append(0.0)
            highs.append(1.0)
            continue
        lo, hi = np.percentile(values, percentiles)
        if hi <= lo:
            hi = lo + 1.0
        lows.append(float(lo))
        highs.append(float(hi))
    return tuple(lows), tuple(highs)


def default_display(
    thumbnail: np.ndarray,
    *,
    dtype: np.dtype,
    nodata: float | None = None,
    metadata: SourceMetadata | None = None,
) -> Display:
    """A sensible first look: RGB for 3+ bands, grey otherwise.

    8-bit RGB is shown as stored (0..255); anything else is stretched to the
    2nd..98th percentile of the thumbnail, or to the file's DICOM window.
    """
    band_count = thumbnail.shape[2] if thumbnail.ndim == 3 else 1
    pixels = thumbnail if thumbnail.ndim == 3 else thumbnail[..., None]
    bands = (0, 1, 2) if band_count >= 3 else (0,)
    if metadata is not None and metadata.window is not None:
        centre, width = metadata.window
        return Display(bands, (0.0,) * len(bands), (1.0,) * len(bands)).with_window(centre, width)
    if np.dtype(dtype) == np.uint8 and band_count >= 3:
        return Display(bands, (0.0,) * 3, (255.0,) * 3)
    low, high = percentile_stretch(pixels, bands, nodata=nodata)
    return Display(bands, low, high)


def _band_lut(dtype: np.dtype, low: float, high: float, gamma: float) -> np.ndarray | None:
    """uint8 lookup table for an integer band, or None when a table does not pay."""
    if dtype == np.uint8:
        values = np.arange(256, dtype=np.float64)
    elif dtype == np.uint16:
        values = np.arange(65536, dtype=np.float64)
    elif dtype == np.int16:
        values = np.arange(-32768, 32768, dtype=np.float64)
    else:
        return None
    return _scale(values, low, high, gamma)


_cached_lut = lru_cache(maxsize=64)(_band_lut)


def _scale(values: np.ndarray, low: float, high: float, gamma: float) -> np.ndarray:
    span = high - low if high != low else 1.0
    t = np.clip((values.astype(np.float64) - low) / span, 0.0, 1.0)
    if gamma != 1.0:
        t = t ** (1.0 / gamma)
    return np.asarray(np.round(t * 255.0), np.uint8)


def stretch_band(band: np.ndarray, low: float, high: float, gamma: float) -> np.ndarray:
    """One band (h, w) of any dtype to uint8 through the stretch and gamma."""
    lut = _cached_lut(band.dtype, low, high, gamma)
    if lut is None:
        return _scale(np.nan_to_num(band, nan=low), low, high, gamma)
    if band.dtype == np.int16:
        return lut[band.astype(np.int32) + 32768]
    return lut[band]


def to_rgb8(pixels: np.ndarray, display: Display) -> np.ndarray:
    """(h, w, bands) pixels to (h, w, 3) uint8 as ``display`` says."""
    if display.is_rgb:
        chans = [
            stretch_band(pixels[..., b], lo, hi, display.gamma)
            for b, lo, hi in zip(display.bands, display.low, display.high, strict=True)
        ]
        return np.stack(chans, axis=-1)
    grey = stretch_band(pixels[..., display.bands[0]], display.low[0], display.high[0],
                        display.gamma)  # fmt: skip
    return colormap_table(display.colormap)[grey]


def pack_argb(rgb: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """(h, w, 3) uint8 (+ optional (h, w) uint8 alpha) to premultiplied ARGB32 words."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    if alpha is None:
        return np.asarray((0xFF << 24) | (r << 16) | (g << 8) | b, np.uint32)
    a = alpha.astype(np.uint32)
    r, g, b = (r * a + 127) // 255, (g * a + 127) // 255, (b * a + 127) // 255
    return np.asarray((a << 24) | (r << 16) | (g << 8) | b, np.uint32)


def argb_to_qimage(words: np.ndarray, *, opaque: bool = False) -> QImage:
    """(h, w) uint32 premultiplied ARGB words to a QImage that owns its pixels.

    ``opaque`` images use Format_RGB32, which QPainter copies without blending:
    several times faster to draw than an alpha image that happens to be opaque.
    """
    words = np.ascontiguousarray(words, np.uint32)
    h, w = words.shape
    fmt = QImage.Format.Format_RGB32 if opaque else QImage.Format.Format_ARGB32_Premultiplied
    image = QImage(words.data, w, h, 4 * w, fmt)
    return image.copy()  # detach from the numpy buffer


def nodata_mask(pixels: np.ndarray, nodata: float | None) -> np.ndarray | None:
    """(h, w) bool of pixels whose every band is nodata or NaN, or None when there is none.

    NaN is nodata whatever the file says (a float image's gaps, and the pixels a
    mask band marks invalid, see ``ImageLayer.read``).
    """
    mask = np.all(np.isnan(pixels), axis=-1) if pixels.dtype.kind == "f" else None
    if nodata is not None and not np.isnan(nodata):
        same = np.all(pixels == nodata, axis=-1)
        mask = same if mask is None else mask | same
    return mask if mask is not None and mask.any() else None


def image_to_qimage(pixels: np.ndarray, display: Display, nodata: float | None = None) -> QImage:
    """Render an image tile: stretched colours, nodata transparent."""
    rgb = to_rgb8(pixels, display)
    mask = nodata_mask(pixels, nodata)
    if mask is None:
        return argb_to_qimage(pack_argb(rgb), opaque=True)
    return argb_to_qimage(pack_argb(rgb, np.where(mask, 0, 255).astype(np.uint8)))
