"""Augmentations move image, labels and weights together and respect the data type."""

from __future__ import annotations

import torch

from segcore.training.augment import RandomRot90, apply, make_augment


def _coded(tile: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An image whose band 0 encodes the label id and band 1 the weight of each pixel."""
    labels = torch.randint(0, 4, (tile, tile))
    labels[:4, :4] = 255
    weight = torch.randint(1, 3, (tile, tile)).float()
    image = torch.stack([labels.float() / 255.0, weight / 10.0, torch.zeros(tile, tile)])
    return image, labels, weight


def test_geometry_moves_everything_together() -> None:
    torch.manual_seed(0)
    augment = make_augment(tile=16, rgb8=False, p_scale=0.0)
    for _ in range(20):
        image, labels, weight = _coded(16)
        out_image, out_labels, out_weight = apply(augment, image, labels, weight)
        assert torch.equal((out_image[0] * 255).round().long(), out_labels)
        assert torch.allclose(out_image[1] * 10, out_weight)


def test_scale_and_crop_keeps_label_values() -> None:
    torch.manual_seed(1)
    augment = make_augment(tile=16, rgb8=False, p_scale=1.0)
    image, labels, weight = _coded(16)
    for _ in range(10):
        out_image, out_labels, out_weight = apply(augment, image, labels, weight)
        assert out_image.shape == (3, 16, 16) and out_labels.shape == (16, 16)
        assert set(out_labels.unique().tolist()) <= {0, 1, 2, 3, 255}  # nearest: no blends
        assert set(out_weight.unique().tolist()) <= {1.0, 2.0}


def test_rot90_is_exact() -> None:
    rot = RandomRot90()
    x = torch.arange(16.0).reshape(1, 4, 4)
    assert torch.equal(rot.transform(x, {"k": 1}), torch.rot90(x, 1, dims=(-2, -1)))
    assert rot.transform(x, {"k": 0}) is x


def test_colour_jitter_only_for_rgb8() -> None:
    torch.manual_seed(2)
    image = torch.rand(3, 8, 8)
    labels = torch.zeros(8, 8, dtype=torch.long)
    weight = torch.ones(8, 8)
    geometric = make_augment(tile=8, rgb8=False, p_scale=0.0)
    # without jitter the set of pixel values is unchanged (flips and rotations permute them)
    out, _, _ = apply(geometric, image, labels, weight)
    assert torch.equal(out.flatten().sort().values, image.flatten().sort().values)
    jitter = make_augment(tile=8, rgb8=True, p_scale=0.0)
    changed = any(
        not torch.equal(
            apply(jitter, image, labels, weight)[0].flatten().sort().values,
            image.flatten().sort().values,
        )
        for _ in range(5)
    )
    assert changed


def test_multispectral_bands_survive() -> None:
    augment = make_augment(tile=8, rgb8=False, p_scale=1.0)
    image = torch.rand(7, 8, 8) * 3.0  # 7 bands, values past 1 (16-bit scaled data)
    out, _, _ = apply(augment, image, torch.zeros(8, 8, dtype=torch.long), torch.ones(8, 8))
    assert out.shape == (7, 8, 8) and float(out.max()) > 1.0
