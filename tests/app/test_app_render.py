"""Array -> colour conversion: stretch, gamma, colour maps, nodata, overlay colours."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.canvas.overlays import (
    boundaries,
    class_table,
    instance_rgb,
    render_heat,
    render_instance,
    render_panoptic,
    render_semantic,
    shade_factor,
)
from app.canvas.render import (
    Display,
    argb_to_qimage,
    colormap_table,
    default_display,
    image_to_qimage,
    pack_argb,
    percentile_stretch,
    stretch_band,
    to_rgb8,
)
from segcore.io.source import SourceMetadata
from segcore.labels.schema import UNLABELLED, ClassInfo

CLASSES = (
    ClassInfo(0, "bg", (10, 20, 30)),
    ClassInfo(1, "road", (200, 100, 0)),
    ClassInfo(2, "house", (100, 200, 50), thing=True),
)


def rgb_of(word: int) -> tuple[int, int, int, int]:
    return (word >> 24) & 255, (word >> 16) & 255, (word >> 8) & 255, word & 255


def test_stretch_maps_low_and_high_to_0_and_255() -> None:
    band = np.array([[0, 100, 200, 300]], np.uint16)
    assert stretch_band(band, 100, 200, 1.0).tolist() == [[0, 0, 255, 255]]
    mid = stretch_band(np.array([[150]], np.uint16), 100, 200, 1.0)
    assert mid.tolist() == [[128]]  # round(0.5 * 255)


def test_gamma_brightens_mid_tones() -> None:
    band = np.array([[64]], np.uint8)
    assert stretch_band(band, 0, 255, 2.0)[0, 0] == round((64 / 255) ** 0.5 * 255)


def test_float_and_int16_bands() -> None:
    floats = np.array([[-1.0, 0.5, np.nan, 2.0]], np.float32)
    assert stretch_band(floats, 0.0, 1.0, 1.0).tolist() == [[0, 128, 0, 255]]
    ct = np.array([[-1000, 40, 240]], np.int16)  # HU through a (40, 400) window
    assert stretch_band(ct, -160, 240, 1.0).tolist() == [[0, 128, 255]]


def test_rgb_band_selection_and_single_band_colormap() -> None:
    pixels = np.zeros((1, 1, 4), np.uint8)
    pixels[0, 0] = (10, 20, 30, 255)
    swapped = Display((3, 0, 1), (0, 0, 0), (255, 255, 255))
    assert to_rgb8(pixels, swapped)[0, 0].tolist() == [255, 10, 20]
    single = Display((3,), (0,), (255,), colormap="viridis")
    assert to_rgb8(pixels, single)[0, 0].tolist() == colormap_table("viridis")[255].tolist()
    assert colormap_table("gray")[128].tolist() == [128, 128, 128]


def test_percentiles_skip_nodata() -> None:
    pixels = np.arange(100, dtype=np.float64).reshape(10, 10, 1)
    pixels[0, :5] = -9999
    low, high = percentile_stretch(pixels, (0,), percentiles=(0, 100), nodata=-9999)
    assert (low, high) == ((5.0,), (99.0,))


def test_default_display() -> None:
    rgb8 = np.zeros((4, 4, 3), np.uint8)
    assert default_display(rgb8, dtype=np.dtype(np.uint8)) == Display(
        (0, 1, 2), (0,) * 3, (255,) * 3
    )
    grey16 = np.arange(100, dtype=np.uint16).reshape(10, 10, 1)
    shown = default_display(grey16, dtype=np.dtype(np.uint16))
    assert shown.bands == (0,) and shown.low[0] == pytest.approx(1.98)
    dicom = default_display(grey16, dtype=np.dtype(np.int16),
                            metadata=SourceMetadata("dicom", window=(40.0, 400.0)))  # fmt: skip
    assert (dicom.low, dicom.high) == ((-160.0,), (240.0,))


def test_pack_argb_is_premultiplied() -> None:
    rgb = np.array([[[200, 100, 50]]], np.uint8)
    assert rgb_of(int(pack_argb(rgb)[0, 0])) == (255, 200, 100, 50)
    half = pack_argb(rgb, np.array([[128]], np.uint8))
    assert rgb_of(int(half[0, 0])) == (128, 100, 50, 25)


def test_nodata_is_transparent_in_the_qimage() -> None:
    pixels = np.array([[[0], [7]]], np.int16)
    image = image_to_qimage(pixels, Display((0,), (0,), (7,)), nodata=0)
    assert image.size().width() == 2 and image.format() == QImage.Format.Format_ARGB32_Premultiplied
    assert image.pixelColor(0, 0).alpha() == 0
    assert image.pixelColor(1, 0).getRgb() == (255, 255, 255, 255)


def test_qimage_owns_its_pixels() -> None:
    words = np.full((2, 3), 0xFF102030, np.uint32)
    image = argb_to_qimage(words)
    words[:] = 0
    assert image.pixelColor(2, 1).getRgb() == (0x10, 0x20, 0x30, 255)


def test_semantic_colours_and_unlabelled() -> None:
    raw = np.full((4, 5), UNLABELLED, np.uint8)
    raw[1:3, 1:3] = 1
    raw[1, 3] = 2
    words = render_semantic(raw, class_table(CLASSES), outlines=False)
    assert words.shape == (2, 3)  # the one-pixel halo is cut off
    assert rgb_of(int(words[0, 0])) == (255, 200, 100, 0)
    assert rgb_of(int(words[0, 2])) == (255, 100, 200, 50)
    assert words[1, 2] == 0  # unlabelled: transparent


def test_boundaries_mark_pixels_next_to_another_value() -> None:
    raw = np.zeros((5, 5), np.uint8)
    raw[1:4, 1:3] = 1
    assert boundaries(raw).astype(int).tolist() == [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    raw[:, :] = 1
    raw[2, 4] = 0  # the halo's neighbour counts too
    assert boundaries(raw).astype(int).tolist() == [[0, 0, 0], [0, 0, 1], [0, 0, 0]]


def test_instances_get_distinct_colours_and_white_outlines() -> None:
    raw = np.zeros((6, 6), np.uint32)
    raw[1:5, 1:3] = 7
    raw[1:5, 3:5] = 8
    words = render_instance(raw, outlines=True)
    inner = render_instance(np.pad(raw[1:5, 1:5], 1, mode="edge"), outlines=False)
    a, b = instance_rgb(np.array([7, 8]))
    assert rgb_of(int(inner[0, 0]))[1:] == tuple(a) and rgb_of(int(inner[0, 3]))[1:] == tuple(b)
    assert tuple(a) != tuple(b)
    assert words[0, 0] == 0xFFFFFFFF  # every pixel of a 2-wide instance touches a border
    assert render_instance(np.zeros((3, 3), np.uint32), outlines=True)[0, 0] == 0


def test_panoptic_stuff_in_class_colour_things_in_shades() -> None:
    sem = np.array([[1, 1, 2, 2]], np.uint32)
    inst = np.array([[0, 0, 5, 6]], np.uint32)
    raw = np.pad(np.stack([sem, inst], -1), ((1, 1), (1, 1), (0, 0)), mode="edge")
    words = render_panoptic(raw, CLASSES, outlines=False)
    assert rgb_of(int(words[0, 0])) == (255, 200, 100, 0)
    f5, f6 = shade_factor(np.array([5, 6]))
    expect5 = tuple(int(np.clip(round(v * f5), 0, 255)) for v in (100, 200, 50))
    assert rgb_of(int(words[0, 2]))[1:] == expect5
    assert words[0, 2] != words[0, 3]  # two houses, two shades


def test_heat_map_uncertainty_and_missing() -> None:
    raw = np.pad(np.array([[0, 255, 128]], np.uint8), 1, mode="edge")
    words = render_heat(raw, "gray", uncertainty=True)
    assert words[0, 0] == 0  # no prediction: transparent
    assert rgb_of(int(words[0, 1])) == (255, 0, 0, 0)  # certain -> 0 uncertainty -> black
    assert rgb_of(int(words[0, 2])) == (255, 127, 127, 127)
    assert rgb_of(int(render_heat(raw, "gray", uncertainty=False)[0, 1])) == (255, 255, 255, 255)


def test_a_band_stack_with_nodata_per_band_is_transparent_where_its_mask_says(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    import rasterio
    from rasterio.transform import from_origin

    from app.canvas.layers import ImageLayer
    from segcore.io import open_image
    from segcore.io.stack import stack_bands

    def band(name: str, nodata: int, rows: int) -> object:
        pixels = np.full((30, 40), 500, np.uint16)
        pixels[:rows] = nodata
        path = tmp_path / name
        with rasterio.open(path, "w", driver="GTiff", width=40, height=30, count=1,
                           dtype="uint16", nodata=nodata, crs="EPSG:32616",
                           transform=from_origin(500000, 4400000, 0.5, 0.5)) as ds:  # fmt: skip
            ds.write(pixels, 1)
        return path

    # band A is nodata (0) in rows 0-9, band B (9) in rows 0-4: the mask says rows 0-4
    vrt = stack_bands([band("A.TIF", 0, 10), band("B.TIF", 9, 5)], tmp_path / "s.vrt")
    source = open_image(vrt)
    assert source.nodata is None  # no single value: only the mask knows
    layer = ImageLayer(source, Display((0,), (0,), (1000,)))
    raw = layer.read(0, 0, 0, 40, 30, 0)
    image = layer.render(raw, layer.style())
    assert image.pixelColor(3, 2).alpha() == 0  # both bands nodata: transparent
    assert image.pixelColor(3, 7).alpha() == 255  # only band A nodata: still shown
    assert image.pixelColor(3, 20).alpha() == 255
    assert layer.describe(raw[2, 3]) == "nodata" and layer.describe(raw[20, 3]) != "nodata"
