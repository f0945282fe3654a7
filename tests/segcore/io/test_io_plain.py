"""PNG / JPEG / BMP / GIF through Pillow: exact pixels, EXIF orientation, limits."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from segcore.errors import SourceError
from segcore.io import open_image


def _ramp(h: int, w: int, bands: int, dtype: str = "uint8") -> np.ndarray:
    top = 255 if dtype == "uint8" else 65535
    values = np.arange(h * w * bands, dtype=np.int64) * 7919 % (top + 1)
    return values.reshape(h, w, bands).astype(dtype)


def test_rgb_png_reads_exact_pixels_and_metadata(tmp_path: Path) -> None:
    pixels = _ramp(30, 50, 3)
    path = tmp_path / "rgb.png"
    Image.fromarray(pixels).save(path)
    src = open_image(path)
    assert (src.width, src.height, src.band_count, src.dtype) == (50, 30, 3, np.uint8)
    assert src.band_names == ("red", "green", "blue")
    assert src.metadata.format == "png"
    assert src.level_downsamples == (1.0,)
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 50, 30), pixels)
    np.testing.assert_array_equal(src.read_region(0, 10, 5, 7, 3), pixels[5:8, 10:17])


def test_rgba_png_keeps_alpha(tmp_path: Path) -> None:
    pixels = _ramp(8, 9, 4)
    path = tmp_path / "rgba.png"
    Image.fromarray(pixels, "RGBA").save(path)
    src = open_image(path)
    assert src.band_names == ("red", "green", "blue", "alpha")
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 9, 8), pixels)


def test_16bit_gray_png(tmp_path: Path) -> None:
    pixels = _ramp(12, 20, 1, "uint16")[..., 0]
    path = tmp_path / "gray16.png"
    Image.fromarray(pixels).save(path)
    src = open_image(path)
    assert src.dtype == np.uint16 and src.band_count == 1
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 20, 12)[..., 0], pixels)


def test_16bit_rgb_png_keeps_16_bits(tmp_path: Path) -> None:
    pixels = _ramp(6, 7, 3, "uint16")
    path = tmp_path / "rgb16.png"
    path.write_bytes(imagecodecs.png_encode(pixels))
    src = open_image(path)
    assert src.dtype == np.uint16 and src.band_count == 3
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 7, 6), pixels)


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    # stored 40 wide x 20 tall, left half red, right half blue; orientation 6
    # means "rotate 90 degrees clockwise to display": red ends up on top.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())
    src = open_image(path)
    assert (src.width, src.height) == (20, 40)
    assert src.metadata.extra["exif_orientation"] == 6
    shown = src.read_region(0, 0, 0, 20, 40).astype(int)
    assert shown[5, 10, 0] > 200 and shown[5, 10, 2] < 60  # top: red
    assert shown[35, 10, 2] > 200 and shown[35, 10, 0] < 60  # bottom: blue


def test_bmp_and_palette_gif(tmp_path: Path) -> None:
    pixels = _ramp(5, 6, 3)
    Image.fromarray(pixels).save(tmp_path / "a.bmp")
    np.testing.assert_array_equal(open_image(tmp_path / "a.bmp").read_region(0, 0, 0, 6, 5), pixels)
    palette = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "P")
    palette.putpalette([10, 20, 30, 40, 50, 60, 70, 80, 90] + [0] * 759)
    palette.save(tmp_path / "p.gif")
    src = open_image(tmp_path / "p.gif")
    assert src.band_count == 3
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 2, 2)[1, 0], [70, 80, 90])


def test_png_named_jpg_is_read_as_png(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    Image.fromarray(_ramp(4, 4, 3)).save(path, format="PNG")
    assert open_image(path).metadata.format == "png"


def test_one_pixel_png(tmp_path: Path) -> None:
    path = tmp_path / "one.png"
    Image.fromarray(np.array([[7]], np.uint8)).save(path)
    src = open_image(path)
    assert src.read_region(0, 0, 0, 1, 1).tolist() == [[[7]]]
    assert src.read_region(0, -1, 0, 2, 1).tolist() == [[[0], [7]]]
    assert src.thumbnail(64).shape == (1, 1, 1)


def test_truncated_png_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    Image.fromarray(_ramp(64, 64, 3)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="cut.png.*(truncated|corrupt)"):
        open_image(path)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height RGB but holds one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)


def test_png_claiming_enormous_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(100_000, 100_000))
    with pytest.raises(SourceError, match="bomb.png.*(bomb|enormous|limit)"):
        open_image(path)


def test_png_over_the_decode_limit_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segcore.io.base as base

    path = tmp_path / "big.png"
    Image.fromarray(_ramp(100, 100, 3)).save(path)
    monkeypatch.setattr(base.check_size, "__defaults__", (1000,))
    with pytest.raises(SourceError, match="big.png.*30000 B|big.png.*29.3 KiB"):
        open_image(path)


def test_formats_without_magic_fall_back_to_pillow(tmp_path: Path) -> None:
    pixels = _ramp(6, 5, 3)
    path = tmp_path / "old.tga"  # TGA has no signature and GDAL cannot read it
    Image.fromarray(pixels).save(path)
    src = open_image(path)
    assert src.metadata.format == "tga"
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 5, 6), pixels)
