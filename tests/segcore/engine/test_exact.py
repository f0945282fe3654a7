"""Exact mode equals one whole-image forward pass (max |logit difference| <= 1e-3)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from engine_helpers import Loaded, build, tiny, whole_image_logits

from segcore.engine import InferOptions, infer
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.synthetic import make_scene


def _run(model: Loaded, image: np.ndarray, **options: object) -> np.ndarray:
    opts = InferOptions(logits=True, mode="exact", backend="torch", device="cpu", **options)  # type: ignore[arg-type]
    result = run_to_end(infer(ArraySource(image), model, options=opts))
    assert result.mode == "exact" and result.logits is not None and result.labels is not None
    np.testing.assert_array_equal(result.labels, result.logits.argmax(axis=0))
    return result.logits


@pytest.mark.parametrize(
    ("height", "width", "tiles"),
    [
        (37, 23, 1),  # smaller than a tile: one tile of the padded size
        (48, 48, 1),  # exactly one tile
        (70, 70, 4),  # four tiles meeting at one junction
        (101, 157, 15),  # sizes not divisible by the stride, edge tiles shifted inward
    ],
)
def test_tiny_net_shapes(height: int, width: int, tiles: int) -> None:
    model = tiny()
    image = make_scene(height, width, seed=3).image
    opts = InferOptions(logits=True, mode="exact", backend="torch", device="cpu", tile=48)
    result = run_to_end(infer(ArraySource(image), model, options=opts))
    assert result.tiles == tiles
    assert result.logits is not None
    assert np.abs(result.logits - whole_image_logits(model, image)).max() <= 1e-3


@pytest.mark.parametrize(
    ("arch", "height", "width", "tile"),
    [
        ("small_unet", 203, 157, 96),  # 4 x 3 tiles, odd sizes
        ("small_unet", 50, 61, 96),  # smaller than a tile
        ("segnet", 300, 290, 256),  # 2 x 2 tiles: a four-tile junction
        ("unet", 230, 201, 192),  # smp U-Net (resnet18 encoder), 2 x 2 tiles, odd sizes
        ("unet", 64, 64, 192),  # one tile
    ],
)
def test_models_match_a_whole_image_pass(arch: str, height: int, width: int, tile: int) -> None:
    model = build(arch)
    image = make_scene(height, width, seed=5).image
    got = _run(model, image, tile=tile)
    assert np.abs(got - whole_image_logits(model, image)).max() <= 1e-3


def test_region_of_interest_equals_the_crop_of_the_full_result() -> None:
    model = tiny()
    image = make_scene(90, 120, seed=2).image
    full = _run(model, image, tile=48)
    part = _run(model, image, tile=48, roi=(33, 17, 50, 41))
    np.testing.assert_allclose(part, full[:, 17:58, 33:83], atol=1e-5)


def test_mask_runs_only_tiles_that_meet_it() -> None:
    model = tiny()
    image = make_scene(96, 96, seed=2).image
    mask = np.zeros((2, 2), bool)
    mask[0, 1] = True  # the top-right quarter
    opts = InferOptions(mode="exact", device="cpu", tile=32)
    result = run_to_end(infer(ArraySource(image), model, options=replace(opts, mask=mask)))
    assert result.labels is not None
    full = run_to_end(infer(ArraySource(image), model, options=opts)).labels
    assert full is not None
    assert (result.labels[:40, 56:] == full[:40, 56:]).all()  # what the mask covers is done
    assert (result.labels[60:, :40] == 255).all()  # far from the mask, nothing was run
    assert result.tiles < 16
