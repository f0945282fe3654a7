"""Ordinary images (PNG, JPEG, BMP, GIF, WebP) decoded whole with Pillow.

These formats cannot be read a window at a time, so the reader checks the
size in the header first and refuses anything whose decoded pixels would pass
:data:`~segcore.io.base.DECODE_LIMIT` (or Pillow's own decompression-bomb
limit). JPEG EXIF orientation is applied, so width and height are those of
the image as it should be shown. 16-bit RGB PNGs, which Pillow would cut to
8 bits, are decoded with imagecodecs instead.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import SourceError
from segcore.io.base import BaseSource, Layout, check_size
from segcore.io.source import SourceMetadata

# Pillow modes kept as they are -> (bands, band names)
_KEEP: dict[str, tuple[str, ...]] = {
    "L": ("gray",),
    "LA": ("gray", "alpha"),
    "RGB": ("red", "green", "blue"),
    "RGBA": ("red", "green", "blue", "alpha"),
    "I;16": ("gray",),
    "I;16B": ("gray",),
    "I;16L": ("gray",),
    "I": ("gray",),
    "F": ("gray",),
}
# Modes converted before use: palette and bilevel images become 8-bit.
_CONVERT = {"1": "L", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB"}
_BYTES_PER_PIXEL = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}


class NotAPicture(SourceError):
    """Pillow does not recognise the file at all."""


class PlainSource(BaseSource):
    """A PNG/JPEG/BMP/GIF/WebP image held in memory after one decode."""

    def __init__(self, path: Path) -> None:
        pixels, fmt, extra = _decode(path)
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        bands = pixels.shape[2]
        names = extra.pop("band_names", ())
        layout = Layout(
            sizes=((pixels.shape[1], pixels.shape[0]),),
            bands=bands,
            dtype=pixels.dtype,
            band_names=tuple(names) if len(names) == bands else (),
        )
        super().__init__(path, layout, SourceMetadata(format=fmt, extra=extra))
        self._pixels = pixels

    in_memory = True

    def _read(self, level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> np.ndarray:
        return self._pixels[y0:y1, x0:x1].copy()

    def _release(self) -> None:
        self._pixels = np.zeros((1, 1, self.band_count), self.dtype)


def _decode(path: Path) -> tuple[np.ndarray, str, dict[str, Any]]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image: Any = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise SourceError(
            path, f"header claims an enormous image, refused as a decompression bomb ({exc})"
        ) from exc
    except UnidentifiedImageError as exc:
        reason = "not an image Pillow can read (unknown or corrupt header)"
        raise NotAPicture(path, reason) from exc
    except OSError as exc:
        raise SourceError(path, f"cannot open the image: {exc}") from exc
    with image:
        fmt = (image.format or "image").lower()
        mode = image.mode
        width, height = image.size
        per_pixel = _BYTES_PER_PIXEL.get(mode, len(image.getbands()))
        what = f"decoding this {width}x{height} {fmt}"
        check_size(path, width * height * max(per_pixel, 3), what)
        extra: dict[str, Any] = {"mode": mode}
        if fmt == "png" and _png_is_16bit_color(path):
            return _decode_png16(path), fmt, extra
        try:
            orientation = image.getexif().get(0x0112, 1)
            image.load()
            if orientation != 1:
                extra["exif_orientation"] = int(orientation)
                image = ImageOps.exif_transpose(image)
            if image.mode in ("P", "PA"):  # palette: keep alpha only if there is some
                has_alpha = image.mode == "PA" or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            elif image.mode in _CONVERT:
                image = image.convert(_CONVERT[image.mode])
            if image.mode not in _KEEP:
                image = image.convert("RGB")
            extra["band_names"] = _KEEP[image.mode]
            pixels = np.asarray(image)
        except (OSError, SyntaxError, ValueError) as exc:
            raise SourceError(path, f"image data is truncated or corrupt: {exc}") from exc
    if pixels.dtype.byteorder == ">":
        pixels = pixels.astype(pixels.dtype.newbyteorder("="))
    return pixels, fmt, extra


def _png_is_16bit_color(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 26 or head[12:16] != b"IHDR":
        return False
    bit_depth, color_type = head[24], head[25]
    return bit_depth == 16 and color_type in (2, 6)  # RGB, RGBA


def _decode_png16(path: Path) -> np.ndarray:
    import imagecodecs

    try:
        pixels = imagecodecs.png_decode(path.read_bytes())
    except Exception as exc:
        raise SourceError(path, f"16-bit PNG data is truncated or corrupt: {exc}") from exc
    return np.asarray(pixels)
