"""Viewport arithmetic: conversions, anchored zoom, fit, pyramid level choice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.canvas.viewport import MAX_ZOOM, Viewport


def make(zoom: float = 1.0) -> Viewport:
    vp = Viewport(10_000, 6_000, 800, 600)
    vp.set_zoom(zoom)
    return vp


@given(
    zoom=st.floats(0.01, 60),
    sx=st.floats(-1000, 2000),
    sy=st.floats(-1000, 2000),
)
def test_screen_and_image_coordinates_are_inverse(zoom: float, sx: float, sy: float) -> None:
    vp = make(zoom)
    ix, iy = vp.to_image(sx, sy)
    back = vp.to_screen(ix, iy)
    assert back == pytest.approx((sx, sy), abs=1e-6)


@given(factor=st.floats(0.2, 5.0), sx=st.integers(0, 800), sy=st.integers(0, 600))
def test_zoom_keeps_the_point_under_the_anchor(factor: float, sx: int, sy: int) -> None:
    vp = make(0.5)
    vp.center_on(5000, 3000)
    before = vp.to_image(sx, sy)
    vp.zoom_by(factor, anchor=(sx, sy))
    assert vp.to_image(sx, sy) == pytest.approx(before, abs=1e-6)


def test_fit_shows_the_whole_image_centred() -> None:
    vp = make(3.0)
    vp.fit()
    assert vp.zoom == pytest.approx(0.08)  # 800 / 10000 < 600 / 6000
    x0, y0, x1, y1 = vp.visible_rect()
    assert (x0, y0, x1, y1) == pytest.approx((0, 0, 10_000, 6_000))
    assert vp.to_screen(5000, 3000) == pytest.approx((400, 300))


def test_zoom_is_clamped() -> None:
    vp = make()
    vp.set_zoom(1e6)
    assert vp.zoom == MAX_ZOOM
    vp.set_zoom(1e-9)
    assert vp.zoom == pytest.approx(vp.fit_zoom() / 4)


def test_pan_moves_the_image_with_the_drag() -> None:
    vp = make(2.0)
    vp.center_on(5000, 3000)
    ix, iy = vp.to_image(100, 100)
    vp.pan(40, -20)  # drag right and up: the image point follows the mouse
    assert vp.to_image(140, 80) == pytest.approx((ix, iy))


def test_pan_cannot_lose_the_image() -> None:
    vp = make(1.0)
    vp.pan(1e9, 1e9)
    x0, y0, x1, y1 = vp.visible_rect()
    assert x1 - x0 >= 400 - 1e-9 and y1 - y0 >= 300 - 1e-9


@pytest.mark.parametrize(
    ("zoom", "level"),
    [(2.0, 0), (1.0, 0), (0.99, 0), (0.5, 1), (0.3, 1), (0.25, 2), (0.01, 3)],
)
def test_level_is_the_coarsest_still_as_sharp_as_the_screen(zoom: float, level: int) -> None:
    vp = make()
    vp.zoom = zoom
    assert vp.level_for((1.0, 2.0, 4.0, 8.0)) == level


def test_zoom_percent_text() -> None:
    vp = make()
    vp.zoom = 0.05
    assert vp.zoom_percent() == "5.0%"
    vp.zoom = 2.0
    assert vp.zoom_percent() == "200%"
