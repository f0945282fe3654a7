"""Small pieces shared by Tessera's own architectures and the library wrappers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

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


@dataclass(frozen=True)
class UNetBlocks:
    """A U-Net's block makers: ``stem(in, out)``, ``down(in, out)``, ``up(in, skip, out)``."""

    stem: Callable[[int, int], nn.Module]
    down: Callable[[int, int], nn.Module]
    up: Callable[[int, int, int], nn.Module]


class UNetWiring(nn.Module):
    """Stem, down steps, up steps fed the matching skips, and a 1x1 head.

    SmallUNet and ResUNet differ only in their ``blocks`` and ``default_channels``.
    The module names (``stem``, ``downs``, ``ups``, ``head``) are the keys of
    saved model files.
    """

    blocks: ClassVar[UNetBlocks]
    default_channels: ClassVar[tuple[int, ...]]

    def __init__(
        self, *, num_classes: int, in_channels: int, channels: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        if channels is None:
            channels = self.default_channels
        if len(channels) < 2:
            name = type(self).__name__
            raise ValueError(f"{name} needs at least 2 levels, got channels={channels}")
        self.output_stride = 2 ** (len(channels) - 1)
        self.stem = self.blocks.stem(in_channels, channels[0])
        self.downs = nn.ModuleList(
            self.blocks.down(c_in, c_out)
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=True)
        )
        rev = list(reversed(channels))
        self.ups = nn.ModuleList(
            self.blocks.up(c_in, c_out, c_out)
            for c_in, c_out in zip(rev[:-1], rev[1:], strict=True)
        )
        self.head = nn.Conv2d(channels[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_size(x, self.output_stride)
        x = self.stem(x)
        skips = [x]
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)  # type: ignore[no-any-return]
