"""Windows and coordinate maps between level 0, level, window and encoder input."""

from __future__ import annotations

import math

import pytest

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.prompt.geometry import Levels, check_inside, choose_level, grid, window_at

S = 1024
LEVELS = Levels(((5000, 3000), (2500, 1500), (1250, 750), (625, 375)))


def test_hand_checked_cell() -> None:
    # Level 1 has 2 level-0 px per level px: x0 = 3000 is level x (3000.5) / 2 - 0.5 = 1499.75,
    # y0 = 700 is 349.75. Grid origins step 512: (1499.75 - 512) / 512 = 1.93 -> 1024 (below
    # the last origin 2500 - 1024 = 1476); (349.75 - 512) / 512 < 0 -> 0.
    w = window_at(LEVELS, 1, 3000, 700, S)
    assert (w.x, w.y, w.w, w.h) == (1024, 0, 1024, 1024)
    assert w.to_input(3000, 700) == pytest.approx((475.75, 349.75))
    assert w.cell(3000, 700, 64) == (29, 21)  # 476.25 // 16, 350.25 // 16


@pytest.mark.parametrize("level", range(4))
def test_every_cell_of_every_window_maps_back_to_itself(level: int) -> None:
    side = 64
    for w in grid(LEVELS, level, S):
        step = S / side
        for col, row in ((0, 0), (5, 9), (side - 1, side - 1), (31, 2)):
            ex, ey = (col + 0.5) * step - 0.5, (row + 0.5) * step - 0.5  # cell centre
            if ex > w.w * w.scale - 0.5 or ey > w.h * w.scale - 0.5:
                continue  # padding beyond a small level
            x0, y0 = w.from_input(ex, ey)
            assert w.cell(x0, y0, side) == (col, row)
            assert w.to_input(x0, y0) == pytest.approx((ex, ey))
            assert w.contains(x0, y0)


def test_a_pixel_lands_in_the_cell_covering_it_at_every_level() -> None:
    x0, y0 = 3333, 1234  # a level-0 pixel
    for level in range(4):
        fx, fy = LEVELS.factors(level)
        w = window_at(LEVELS, level, x0, y0, S)
        col, row = w.cell(x0, y0, 64)
        # the level pixel holding (x0, y0), its window offset, 16 input px per cell
        lx, ly = math.floor((x0 + 0.5) / fx) - w.x, math.floor((y0 + 0.5) / fy) - w.y
        assert (col, row) == (math.floor(lx * w.scale / 16), math.floor(ly * w.scale / 16))


def test_small_level_is_resized_up_like_sam() -> None:
    w = window_at(LEVELS, 3, 2500, 1500, S)
    assert (w.x, w.y, w.w, w.h) == (0, 0, 625, 375) and w.scale == pytest.approx(1024 / 625)
    # The image's outer pixel edges land on the input's edges (the long side fills it).
    assert w.to_input(-0.5, -0.5) == pytest.approx((-0.5, -0.5))
    assert w.to_input(4999.5, 2999.5) == pytest.approx((1023.5, 375 * 1024 / 625 - 0.5))


def test_grid_windows_overlap_by_half_and_cover_the_level() -> None:
    ws = grid(LEVELS, 0, S)
    assert sorted({w.x for w in ws}) == [0, 512, 1024, 1536, 2048, 2560, 3072, 3584, 3976]
    assert sorted({w.y for w in ws}) == [0, 512, 1024, 1536, 1976]
    assert all(w.x + w.w <= 5000 and w.y + w.h <= 3000 for w in ws)
    keys = {w.key for w in ws}
    near = window_at(LEVELS, 0, 2100, 1700, S)
    assert near.key in keys  # the window for a view is always a grid window
    part = grid(LEVELS, 0, S, Box(0, 0, 600, 600))
    assert {(w.x, w.y) for w in part} == {(0, 0), (512, 0), (0, 512), (512, 512)}


def test_choose_level_fits_the_view() -> None:
    assert choose_level(LEVELS, Box(0, 0, 1000, 800), S) == 0
    assert choose_level(LEVELS, Box(0, 0, 1025, 800), S) == 1
    assert choose_level(LEVELS, Box(0, 0, 4000, 3000), S) == 2
    assert choose_level(LEVELS, Box(0, 0, 50000, 3000), S) == 3  # none fits: coarsest


def test_near_inner_edge_but_not_the_image_edge() -> None:
    w = window_at(LEVELS, 0, 2048, 1536, S)  # x 1536..2560, y 1024..2048
    assert w.near_inner_edge(1540, 1500, LEVELS)  # 4 px from the left edge (inner)
    assert not w.near_inner_edge(2048, 1536, LEVELS)
    corner = window_at(LEVELS, 0, 0, 0, S)
    assert not corner.near_inner_edge(3, 3, LEVELS)  # the image's own edge
    assert corner.near_inner_edge(1020, 10, LEVELS)


def test_prompt_outside_the_image_is_refused() -> None:
    with pytest.raises(LabelError, match=r"prompt \(5000, 10\) lies outside the image"):
        check_inside(LEVELS, [(10, 10), (5000, 10)])
