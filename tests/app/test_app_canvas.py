"""The canvas: rendering (grabbed pixels), zoom, pan, keys, tools, tiles, fallbacks."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from app_helpers import pixel, settle
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.canvas.layers import ImageLayer
from app.canvas.overlays import InstanceOverlay, PanopticOverlay, SemanticOverlay
from app.canvas.render import Display
from app.canvas.tiles import TileKey
from app.canvas.tools import RectTool
from app.canvas.view import BACKGROUND, CanvasView
from segcore.io.array import ArraySource
from segcore.labels.adapters import ArrayLabels
from segcore.labels.schema import UNLABELLED, ClassInfo

GREY = (100, 100, 100)
CLASSES = (
    ClassInfo(0, "field", (0, 0, 255)),
    ClassInfo(1, "road", (200, 100, 0)),
    ClassInfo(2, "house", (40, 220, 60), thing=True),
)
FULL = Display((0, 1, 2), (0,) * 3, (255,) * 3)


def grey_layer(w: int = 300, h: int = 200) -> tuple[ImageLayer, np.ndarray]:
    pixels = np.full((h, w, 3), GREY[0], np.uint8)
    return ImageLayer(ArraySource(pixels), FULL), pixels


@pytest.fixture
def canvas(qtbot) -> CanvasView:  # type: ignore[no-untyped-def]
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    qtbot.waitExposed(view)
    layer, pixels = grey_layer()
    view.set_image(layer, pixels)
    yield view
    view.shutdown()


def labels() -> ArrayLabels:
    sem = np.full((200, 300), UNLABELLED, np.uint8)
    sem[:, :150] = 1  # left half road
    sem[50:100, 200:250] = 2  # one house
    sem[120:180, 200:230] = 2  # another house
    inst = np.zeros((200, 300), np.uint32)
    inst[50:100, 200:250] = 11
    inst[120:180, 200:230] = 12
    return ArrayLabels(sem, instances=inst)


def test_semantic_overlay_colours_at_known_pixels(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    assert canvas.viewport.zoom == 1.0  # 300 x 200 image fits 300 x 200 exactly
    overlay = SemanticOverlay("semantic", "Labels", labels(), CLASSES, opacity=1.0)
    canvas.add_layer(overlay)
    settle(qtbot, canvas)
    shot = canvas.grab().toImage()
    assert pixel(shot, 10, 10) == (200, 100, 0)  # road
    assert pixel(shot, 225, 75) == (40, 220, 60)  # house
    assert pixel(shot, 180, 10) == GREY  # unlabelled: the image shows through
    overlay.opacity = 0.5
    canvas.restyle()
    shot = canvas.grab().toImage()
    assert pixel(shot, 10, 10) == pytest.approx((150, 100, 50), abs=2)
    overlay.visible = False
    canvas.restyle()
    assert pixel(canvas.grab().toImage(), 10, 10) == GREY


def test_outlines_and_instances(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    overlay = InstanceOverlay("instance", "Instances", labels(), CLASSES, opacity=1.0)
    canvas.add_layer(overlay)
    settle(qtbot, canvas)
    shot = canvas.grab().toImage()
    assert pixel(shot, 200, 75) == (255, 255, 255)  # left edge of house 11
    inside_11, inside_12 = pixel(shot, 225, 75), pixel(shot, 215, 150)
    assert inside_11 != inside_12 and GREY not in (inside_11, inside_12)
    assert pixel(shot, 10, 10) == GREY  # no instance


def test_panoptic_overlay(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    canvas.add_layer(PanopticOverlay("panoptic", "Panoptic", labels(), CLASSES, opacity=1.0))
    settle(qtbot, canvas)
    shot = canvas.grab().toImage()
    assert pixel(shot, 10, 10) == (200, 100, 0)  # stuff: its class colour
    house_a, house_b = pixel(shot, 225, 75), pixel(shot, 215, 150)
    assert house_a != house_b  # things: shades of their class colour
    assert pixel(shot, 249, 75) == (255, 255, 255)  # outline


def test_wheel_zoom_is_anchored_at_the_cursor(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    before = canvas.viewport.to_image(60, 40)
    event = QWheelEvent(
        QPointF(60, 40), QPointF(canvas.mapToGlobal(QPoint(60, 40))), QPoint(0, 0),
        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, event)
    assert canvas.viewport.zoom == pytest.approx(2**0.5)  # two notches
    assert canvas.viewport.to_image(60, 40) == pytest.approx(before)


def test_keys_zoom_and_pan(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.viewport.zoom == pytest.approx(2**0.5)
    ox = canvas.viewport.ox
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert canvas.viewport.ox > ox
    qtbot.keyClick(canvas, Qt.Key.Key_Minus)
    qtbot.keyClick(canvas, Qt.Key.Key_Minus)
    assert canvas.viewport.zoom == pytest.approx(2**-0.5)
    canvas.one_to_one()
    assert canvas.viewport.zoom == 1.0
    canvas.zoom_by(3)
    canvas.fit()
    assert canvas.visible_box() == (0, 0, 300, 200)


def test_drag_pans_and_space_drag_pans_over_a_tool(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    canvas.zoom_by(4, anchor=(150, 100))
    start = canvas.viewport.to_image(100, 100)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(140, 80))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 80))
    assert canvas.viewport.to_image(140, 80) == pytest.approx(start)

    drawn: list[tuple[int, int, int, int]] = []
    canvas.set_tool(RectTool(drawn.append))
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    start = canvas.viewport.to_image(100, 100)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(120, 100))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(120, 100))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert drawn == [] and canvas.viewport.to_image(120, 100) == pytest.approx(start)


def test_rect_tool_reports_image_rectangle(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    drawn: list[tuple[int, int, int, int]] = []
    canvas.set_tool(RectTool(drawn.append))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(250, 150))
    qtbot.mouseMove(canvas, QPoint(20, 30))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(20, 30))
    assert drawn == [(20, 30, 230, 120)]


def test_thumbnail_is_drawn_while_tiles_load(qtbot) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()

    class Slow(ImageLayer):
        def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
            gate.wait(10)
            return super().read(level, x, y, w, h, z)

    pixels = np.zeros((200, 300, 3), np.uint8)
    pixels[..., 0] = 255
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.set_image(Slow(ArraySource(pixels), FULL), pixels[::4, ::4])
    try:
        shot = view.grab().toImage()
        assert pixel(shot, 150, 100) == (255, 0, 0)  # from the thumbnail, before any tile
        assert view.loader.busy
    finally:
        gate.set()
        view.shutdown()


def test_only_visible_tiles_of_the_matching_level_are_read(qtbot) -> None:  # type: ignore[no-untyped-def]
    big = np.zeros((4096, 4096), np.uint8)
    big[2048:, :] = 200
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(ImageLayer(ArraySource(big), Display((0,), (0,), (255,))), big[::16, ::16, None])
    settle(qtbot, view)
    levels = {k.level for k in view.cache.snapshot()}
    assert levels == {3}  # fit zoom 0.073: level 3 (downsample 8) is the coarsest still sharp
    view.one_to_one()
    view.center_on(3000, 3000)
    settle(qtbot, view)
    level0 = {(k.tx, k.ty) for k in view.cache.snapshot() if k.level == 0}
    # 400 x 300 view around (3000, 3000) meets tiles 5..6 x 5..6, plus one ring of prefetch
    assert level0 <= {(tx, ty) for tx in range(4, 8) for ty in range(4, 8)}
    assert {(5, 5), (6, 5), (5, 6), (6, 6)} <= level0
    value, level = view.sample("image", 3000.5, 3000.5)  # type: ignore[misc]
    assert (int(value[0]), level) == (200, 0)
    view.shutdown()


def test_invalidate_rereads_changed_labels(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    sem = np.full((200, 300), UNLABELLED, np.uint8)
    store = ArrayLabels(sem)
    canvas.add_layer(SemanticOverlay("semantic", "Labels", store, CLASSES, opacity=1.0))
    settle(qtbot, canvas)
    assert pixel(canvas.grab().toImage(), 30, 30) == GREY
    store._levels["semantic"][0][20:40, 20:40] = 0  # an edit (the real store writes in place)
    canvas.invalidate("semantic", (20, 20, 20, 20))
    settle(qtbot, canvas)
    assert pixel(canvas.grab().toImage(), 30, 30) == (0, 0, 255)


def test_empty_canvas_paints_a_hint(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    shot = view.grab().toImage()
    assert pixel(shot, 2, 2) == (BACKGROUND.red(), BACKGROUND.green(), BACKGROUND.blue())


def test_pinch_gesture_zooms_at_its_centre(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QNativeGestureEvent, QPointingDevice

    before = canvas.viewport.to_image(100, 50)
    event = QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(), 2,
        QPointF(100, 50), QPointF(100, 50), QPointF(canvas.mapToGlobal(QPoint(100, 50))),
        0.5, QPointF(0, 0),
    )  # fmt: skip
    QApplication.sendEvent(canvas, event)
    assert canvas.viewport.zoom == pytest.approx(1.5)
    assert canvas.viewport.to_image(100, 50) == pytest.approx(before)


def test_invalidating_a_tile_while_it_is_read_reads_it_again(qtbot) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    sem = np.full((200, 300), UNLABELLED, np.uint8)
    store = ArrayLabels(sem)

    class Slow(SemanticOverlay):
        def read(self, level: int, x: int, y: int, w: int, h: int, z: int) -> np.ndarray:
            raw = super().read(level, x, y, w, h, z)  # what the store holds now...
            gate.wait(10)  # ...arrives after the edit below
            return raw

    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    layer, pixels = grey_layer()
    view.set_image(layer, pixels)
    view.add_layer(Slow("semantic", "Labels", store, CLASSES, opacity=1.0))
    view.grab()  # requests the tile; its read is now blocked with the old labels
    qtbot.waitUntil(lambda: TileKey("semantic", 0, 0, 0, 0) in view.loader.pending_keys())
    store._levels["semantic"][0][20:40, 20:40] = 0
    view.invalidate("semantic", (20, 20, 20, 20))
    gate.set()
    settle(qtbot, view)
    assert pixel(view.grab().toImage(), 30, 30) == (0, 0, 255)
    view.shutdown()


@pytest.mark.parametrize("overlay", [SemanticOverlay, InstanceOverlay, PanopticOverlay])
def test_small_edit_is_patched_into_the_cached_tile(qtbot, canvas: CanvasView, overlay) -> None:  # type: ignore[no-untyped-def]
    store = labels()
    layer = overlay("labels", "Labels", store, CLASSES, opacity=1.0)
    layer.outlines = True
    canvas.add_layer(layer)
    settle(qtbot, canvas)
    key = TileKey("labels", 0, 0, 0, 0)
    # A dab that touches a house: the house's outline moves, so its neighbours change too.
    store._levels["semantic"][0][95:110, 240:255] = 2
    store._levels["instance"][0][95:110, 240:255] = 11
    canvas.invalidate("labels", (240, 95, 15, 15))
    assert not canvas.loader.busy  # no worker read: the tile was redrawn in place
    tile = canvas.cache.peek(key)
    assert tile is not None and not tile.stale
    fresh = layer.read_tile(0, 0, 0, 0)
    np.testing.assert_array_equal(tile.raw, fresh)
    style = layer.style()
    want = layer.render(fresh, style)
    assert tile.images[style] == want  # pixel for pixel, outlines included


def test_large_edit_is_read_again_by_the_loader(qtbot, canvas: CanvasView) -> None:  # type: ignore[no-untyped-def]
    store = labels()
    canvas.add_layer(SemanticOverlay("semantic", "Labels", store, CLASSES, opacity=1.0))
    settle(qtbot, canvas)
    store._levels["semantic"][0][:, :] = 0
    canvas.invalidate("semantic", (0, 0, 300, 200))
    tile = canvas.cache.peek(TileKey("semantic", 0, 0, 0, 0))
    assert tile is not None and tile.stale
    settle(qtbot, canvas)
    assert pixel(canvas.grab().toImage(), 30, 30) == (0, 0, 255)
