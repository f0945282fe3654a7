"""Point-and-click tools on tiny synthetic images with known answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from label_helpers import StoreFactory, maps

from segcore.errors import LabelError
from segcore.io import open_image
from segcore.io.array import ArraySource
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.labels.edits.smart import (
    Scribble,
    accept_prediction,
    grabcut,
    magic_wand,
    superpixel,
    watershed_scribbles,
)


def _square_image(size: int = 32, lo: int = 10, hi: int = 200) -> np.ndarray:
    """Dark RGB image with a bright square at rows/cols 10..19."""
    img = np.full((size, size, 3), lo, np.uint8)
    img[10:20, 10:20] = hi
    return img


def test_magic_wand_tolerance(new_store: StoreFactory) -> None:
    img = _square_image()
    img[12, 12] = 190  # within tolerance 15 of the seed colour 200
    img[15, 15] = 150  # a hole: too far from 200
    s = new_store(32, 32)
    box = magic_wand(s, ArraySource(img), 11, 11, paint=Paint(1), tolerance=15)
    assert box == Box(10, 10, 10, 10)
    sem, _ = maps(s)
    expected = np.zeros((32, 32), bool)
    expected[10:20, 10:20] = True
    expected[15, 15] = False
    np.testing.assert_array_equal(sem == 1, expected)


def test_magic_wand_is_bounded_by_its_window(new_store: StoreFactory) -> None:
    s = new_store(32, 32)
    flat = np.zeros((32, 32), np.uint16)
    assert magic_wand(s, ArraySource(flat), 16, 16, paint=Paint(2), tolerance=0, radius=3) == Box(
        13, 13, 7, 7
    )
    with pytest.raises(LabelError, match="tolerance"):
        magic_wand(s, ArraySource(flat), 1, 1, paint=Paint(2), tolerance=-1)
    with pytest.raises(LabelError, match="32x32"):
        magic_wand(s, ArraySource(np.zeros((8, 8))), 1, 1, paint=Paint(2), tolerance=1)


def test_grabcut_finds_the_square(new_store: StoreFactory) -> None:
    s = new_store(32, 32)
    box = grabcut(s, ArraySource(_square_image()), Box(7, 7, 16, 16), paint=Paint(3, 5))
    assert box == Box(10, 10, 10, 10)
    sem, inst = maps(s)
    assert (sem[10:20, 10:20] == 3).all() and (sem == 3).sum() == 100
    assert (inst == 5).sum() == 100
    with pytest.raises(LabelError, match="outside the box"):
        grabcut(s, ArraySource(_square_image()), Box(0, 0, 32, 32), paint=Paint(3))
    with pytest.raises(LabelError, match="too small"):
        grabcut(s, ArraySource(_square_image()), Box(4, 4, 2, 9), paint=Paint(3))


def test_watershed_from_two_scribbles(new_store: StoreFactory) -> None:
    s = new_store(32, 32)
    scribbles = [
        Scribble([(13, 15), (16, 15)], Paint(1)),  # inside the square
        Scribble([(2, 2), (29, 2)], Paint(0)),  # background, painted as class 0
        Scribble([(2, 29), (29, 29)], None),  # background, left alone
    ]
    box = watershed_scribbles(s, ArraySource(_square_image()), Box(0, 0, 32, 32), scribbles)
    assert box.x == 0 and box.y == 0 and box.w == 32  # class 0 reaches the top corners
    sem, _ = maps(s)
    square = np.zeros((32, 32), bool)
    square[10:20, 10:20] = True
    # the edge is a 2-pixel gradient ridge: the interior and edges are the object,
    # only its 4 corner pixels may go to a background basin
    assert (sem[square] == 1).sum() >= 96 and (sem[10:20, 11:19] == 1).all()
    assert not (sem[~square] == 1).any()
    assert sem[0, 0] == 0 and (sem[28:, :] == 255).all()
    with pytest.raises(LabelError, match="no scribble"):
        watershed_scribbles(s, ArraySource(_square_image()), Box(0, 0, 4, 4), scribbles[:1])


def test_superpixel_click(new_store: StoreFactory) -> None:
    img = np.zeros((32, 32), np.float32)
    img[:, 16:] = 1.0
    s = new_store(32, 32)
    box = superpixel(s, ArraySource(img), 20, 5, paint=Paint(4), n_segments=4, compactness=1)
    # four superpixels: the intensity edge at col 16 splits left/right, then top/bottom
    assert box == Box(16, 0, 16, 17)
    sem, _ = maps(s)
    assert (sem[:17, 16:] == 4).all() and (sem == 4).sum() == 16 * 17


def test_accept_prediction(new_store: StoreFactory) -> None:
    pred = np.full((16, 16), 255, np.uint8)
    pred[2:6, 2:6] = 1
    pred[2:6, 8:12] = 1  # same class, not connected
    pred[10:14, 10:14] = 2
    s = new_store(16, 16)
    src = ArraySource(pred)
    assert accept_prediction(s, src, 3, 3, paint_for=lambda c: Paint(c, 7)) == Box(2, 2, 4, 4)
    assert accept_prediction(s, src, 11, 11) == Box(10, 10, 4, 4)
    assert accept_prediction(s, src, 0, 0).is_empty  # no prediction there
    sem, inst = maps(s)
    assert (sem[2:6, 2:6] == 1).all() and (inst[2:6, 2:6] == 7).all()
    assert (sem[2:6, 8:12] == 255).all() and (sem[10:14, 10:14] == 2).all()
    assert (inst[10:14, 10:14] == 0).all()


def test_grabcut_segments_real_nuclei(
    sample: Callable[[str], Path], new_store: StoreFactory
) -> None:
    # A box around a small, dim nucleus used to give an empty cut (GrabCut's edge
    # weight is per pixel); the enlarged working window must find the nuclei.
    image = open_image(sample("nuclei_image"))
    truth = np.asarray(open_image(sample("nuclei_mask")).read_region(0, 0, 0, 512, 512))[..., 0]
    ious = []
    for nucleus in np.unique(truth)[1:80:5]:
        ys, xs = np.nonzero(truth == nucleus)
        x0, y0 = max(0, int(xs.min()) - 3), max(0, int(ys.min()) - 3)
        x1, y1 = min(512, int(xs.max()) + 4), min(512, int(ys.max()) + 4)
        s = new_store(512, 512)
        grabcut(s, image, Box(x0, y0, x1 - x0, y1 - y0), paint=Paint(1))
        got, want = maps(s)[0] == 1, truth == nucleus
        ious.append((got & want).sum() / (got | want).sum())
    assert np.median(ious) > 0.7, ious
