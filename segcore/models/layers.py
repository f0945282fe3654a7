"""Small pieces shared by Tessera's own architectures and the library wrappers."""

from __future__ import annotations

import torch
from torch import nn


def check_size(x: torch.Tensor, stride: int) -> None:
    """Refuse an input whose H or W is not a multiple of ``stride``, saying what would work."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    if h % stride or w % stride:
        good = (-(-h // stride) * stride, -(-w // stride) * stride)
        raise ValueError(
            f"input size {h}x{w} is not a multiple of the model's output stride {stride}; "
            f"pad it to {good[0]}x{good[1]}"
        )


def replace_first_conv(model: nn.Module, in_channels: int, *, pretrained: bool) -> None:
    """Swap the model's first ``Conv2d`` for one taking ``in_channels`` bands.

    With pretrained weights the new kernel reuses the RGB kernel: the mean over
    the three input channels, repeated and scaled by ``3 / in_channels`` so the
    activation scale stays the same (the usual trick for multispectral inputs).
    """
    found = next(((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)
    if found is None:
        raise ValueError("model has no Conv2d to adapt")
    name, conv = found
    if conv.in_channels == in_channels:
        return
    new = nn.Conv2d(
        in_channels,
        conv.out_channels,
        conv.kernel_size,  # type: ignore[arg-type]
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    )
    if pretrained:
        with torch.no_grad():
            mean = conv.weight.mean(dim=1, keepdim=True)
            new.weight.copy_(mean.repeat(1, in_channels, 1, 1) * (3.0 / in_channels))
            if conv.bias is not None and new.bias is not None:
                new.bias.copy_(conv.bias)
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, new)


class OutOnly(nn.Module):
    """Wrap a torchvision segmentation model so forward returns the ``"out"`` logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]  # type: ignore[no-any-return]
