"""Joint augmentation of an image tile and its label maps (torchvision.transforms.v2).

The image is a ``tv_tensors.Image`` (float32, C x H x W, pixels already divided
by the model's scale) and the class map and weight map are ``tv_tensors.Mask``,
so every geometric transform moves them together and resizes masks with
nearest-neighbour interpolation (class ids and the UNLABELLED value survive).

Geometry (flips, 90-degree rotations, random scale and crop) applies to any
number of bands. Colour jitter only makes sense for 3-band 8-bit RGB: on
multispectral or 16-bit data it would mix physically different bands or
assume a display range, so it is left out there.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


class RandomRot90(v2.Transform):  # type: ignore[misc]
    """Rotate by k * 90 degrees, k uniform in {0, 1, 2, 3} (exact, no interpolation).

    torchvision's ``RandomRotation`` interpolates and fills corners; a quarter
    turn of a square tile is a pure index permutation, which ``torch.rot90`` does.
    """

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"k": int(torch.randint(0, 4, ()).item())}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        k = params["k"]
        if k == 0 or not isinstance(inpt, torch.Tensor):
            return inpt
        turned = torch.rot90(inpt.as_subclass(torch.Tensor), k, dims=(-2, -1))
        if isinstance(inpt, tv_tensors.TVTensor):
            return tv_tensors.wrap(turned, like=inpt)
        return turned


def make_augment(
    *, tile: int, rgb8: bool, scale: tuple[float, float] = (0.5, 1.0), p_scale: float = 0.5
) -> v2.Transform:
    """The training augmentation for square tiles of side ``tile``.

    Parameters
    ----------
    tile
        Output side in pixels (the input tile has this size too).
    rgb8
        True for 3-band 8-bit images: adds colour jitter.
    scale
        Area range of the random crop that is resized back to ``tile`` (zoom in).
    p_scale
        Probability of applying the random scale and crop.
    """
    steps: list[v2.Transform] = [
        v2.RandomHorizontalFlip(),
        v2.RandomVerticalFlip(),
        RandomRot90(),
        v2.RandomApply(
            [v2.RandomResizedCrop(tile, scale=scale, ratio=(3 / 4, 4 / 3), antialias=True)],
            p=p_scale,
        ),
    ]
    if rgb8:
        # no hue jitter: its RGB -> HSV round trip costs more than the rest of the
        # pipeline together, and hue is often what tells classes apart
        steps.append(v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2))
    return v2.Compose(steps)


def apply(
    augment: v2.Transform, image: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``augment`` on (C,H,W) image, (H,W) labels and (H,W) weights together."""
    out_image, out_labels, out_weight = augment(
        tv_tensors.Image(image), tv_tensors.Mask(labels), tv_tensors.Mask(weight)
    )
    return (
        out_image.as_subclass(torch.Tensor),
        out_labels.as_subclass(torch.Tensor),
        out_weight.as_subclass(torch.Tensor),
    )
