"""Whole-slide images through openslide, on a generic tiled pyramidal TIFF.

No slide-scanner file (SVS, NDPI, MRXS) ships in a registry package reachable
here; openslide's "generic-tiff" vendor reads the same kind of tiled pyramid,
written by tifffile as one IFD per level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from io_helpers import ramp

from segcore.errors import SourceError
from segcore.io import open_image
from segcore.io.bigtiff import TiffSource
from segcore.io.slide import SlideSource


def _write_slide(path: Path, pixels: np.ndarray, levels: int) -> Path:
    with tifffile.TiffWriter(path) as tw:
        for k in range(levels):
            step = 2**k
            tw.write(
                pixels[::step, ::step],
                tile=(256, 256),
                photometric="rgb",
                compression="zlib",
                subfiletype=1 if k else 0,
                resolution=(40000 / step, 40000 / step) if k == 0 else None,
                resolutionunit="CENTIMETER" if k == 0 else None,
            )
    return path


def test_generic_tiff_pyramid_is_read_by_openslide(tmp_path: Path) -> None:
    pixels = ramp(1024, 1536, 3)
    src = open_image(_write_slide(tmp_path / "slide.tif", pixels, levels=3))
    assert isinstance(src, SlideSource)
    assert src.metadata.format == "slide"
    assert src.metadata.extra["vendor"] == "generic-tiff"
    assert src.metadata.mpp == pytest.approx((0.25, 0.25))
    assert src.level_downsamples == (1.0, 2.0, 4.0)
    assert src.level_size(2) == (384, 256)
    assert src.band_names == ("red", "green", "blue")
    np.testing.assert_array_equal(src.read_region(0, 300, 200, 50, 40), pixels[200:240, 300:350])
    # level 1 window: pixel grid of level 1, i.e. every other pixel of level 0
    np.testing.assert_array_equal(src.read_region(1, 10, 20, 8, 6), pixels[::2, ::2][20:26, 10:18])
    # past the right edge: zeros, as for every source without nodata
    edge = src.read_region(2, 380, 0, 8, 2)
    np.testing.assert_array_equal(edge[:, :4], pixels[::4, ::4][0:2, 380:384])
    assert (edge[:, 4:] == 0).all()
    thumb = src.thumbnail(96)
    assert thumb.shape == (64, 96, 3)


def test_single_level_tiled_tiff_goes_to_tifffile(tmp_path: Path) -> None:
    src = open_image(_write_slide(tmp_path / "flat.tif", ramp(300, 400, 3), levels=1))
    assert isinstance(src, TiffSource)


def test_broken_slide_is_a_source_error(tmp_path: Path) -> None:
    path = _write_slide(tmp_path / "broken.tif", ramp(1024, 1024, 3), levels=2)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(SourceError, match="broken.tif"):
        src = open_image(path)
        src.read_region(0, 0, 0, 1024, 1024)


def test_transparent_areas_become_the_background(tmp_path: Path) -> None:
    from PIL import Image

    src = open_image(_write_slide(tmp_path / "sparse.tif", ramp(1024, 1024, 3), levels=2))
    assert isinstance(src, SlideSource)
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [0, 100, 200, 128]]], np.uint8)

    class _Fake:
        def read_region(self, *args: object) -> Image.Image:
            return Image.fromarray(rgba, "RGBA")

    src._slide = _Fake()  # type: ignore[assignment]
    got = src.read_region(0, 0, 0, 3, 1)[0].tolist()
    # opaque kept, transparent -> white, half -> halfway to white
    assert got == [[10, 20, 30], [255, 255, 255], [127, 177, 227]]
