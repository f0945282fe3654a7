"""Which pixels hold no data: the one rule inference and training both follow.

A pixel is *invalid* when

- any band is NaN or +-inf (float rasters mark gaps that way),
- every band equals the source's nodata value (GDAL's per-pixel nodata test),
- its alpha band is 0 (a band named ``alpha``: RGBA PNGs, GeoTIFFs with an alpha
  colour interpretation), or
- the source's mask band says so (GDAL per-dataset masks, ``.msk`` files).

The inference engine feeds invalid pixels to the model as the band mean and
writes UNLABELLED there; training leaves them out of the band statistics, the
loss and the metrics, and fills them the same way before the network.

>>> import numpy as np
>>> pixels = np.array([[[1.0, 2.0], [np.nan, 2.0]], [[0.0, 0.0], [3.0, 0.0]]])
>>> invalid_pixels(pixels, nodata=0.0).tolist()
[[False, True], [True, False]]
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from segcore.io.source import ImageSource


@runtime_checkable
class MaskedSource(Protocol):
    """A source whose file carries a validity mask of its own (a GDAL mask band)."""

    @property
    def has_mask(self) -> bool: ...

    def read_mask(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """(height, width) bool, True where the mask marks the pixel valid."""
        ...


def alpha_band(source: ImageSource) -> int | None:
    """Index of the band named ``alpha`` (None without one)."""
    names = [n.lower() for n in source.band_names]
    return names.index("alpha") if "alpha" in names and source.band_count > 1 else None


def has_mask(source: ImageSource) -> bool:
    """True when ``source`` has a mask band of its own to read."""
    return isinstance(source, MaskedSource) and source.has_mask


def invalid_pixels(
    pixels: np.ndarray,
    *,
    nodata: float | None,
    alpha: int | None = None,
    valid_mask: np.ndarray | None = None,
) -> np.ndarray | None:
    """(h, w) bool, True where a pixel of ``pixels`` (h, w, bands) holds no data.

    None when every pixel is valid (the common case costs no array).
    """
    bad: np.ndarray | None = None
    if pixels.dtype.kind in "fc":
        finite = np.isfinite(pixels)
        if not finite.all():
            bad = ~finite.all(axis=-1)
    if nodata is not None and not np.isnan(nodata):
        same = (pixels == pixels.dtype.type(nodata)).all(axis=-1)
        if same.any():
            bad = same if bad is None else bad | same
    if alpha is not None:
        clear = pixels[..., alpha] == 0
        if clear.any():
            bad = clear if bad is None else bad | clear
    if valid_mask is not None and not valid_mask.all():
        bad = ~valid_mask if bad is None else bad | ~valid_mask
    return bad


def read_invalid(
    source: ImageSource, pixels: np.ndarray, level: int, x: int, y: int
) -> np.ndarray | None:
    """The invalid pixels of a window of ``source`` already read as ``pixels``.

    Reads the source's mask band for the same window when it has one.
    """
    h, w = pixels.shape[:2]
    mask = None
    if has_mask(source):
        mask = _read_mask(source, level, x, y, w, h)
    return invalid_pixels(pixels, nodata=source.nodata, alpha=alpha_band(source), valid_mask=mask)


def _read_mask(source: ImageSource, level: int, x: int, y: int, w: int, h: int) -> np.ndarray:
    """The mask band over a window; outside the image the pixels are invalid."""
    assert isinstance(source, MaskedSource)
    lw, lh = source.level_size(level)
    out = np.zeros((h, w), bool)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, lw), min(y + h, lh)
    if x1 > x0 and y1 > y0:
        out[y0 - y : y1 - y, x0 - x : x1 - x] = source.read_mask(level, x0, y0, x1 - x0, y1 - y0)
    return out


def fill_invalid(pixels: np.ndarray, invalid: np.ndarray | None, values: np.ndarray) -> np.ndarray:
    """``pixels`` (float, h, w, bands) with invalid pixels set to ``values`` per band.

    Training fills with the band mean (in the units of ``pixels``), which the
    model's normalisation turns into 0, the same input the engine gives them.
    """
    if invalid is None or not invalid.any():
        return pixels
    out = np.array(pixels, dtype=np.float32, copy=True)
    out[invalid] = values
    return out
