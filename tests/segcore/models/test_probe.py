"""The receptive-field probe: exact values on hand-built models, real architectures."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segcore.models import build_model, get, probe_model
from segcore.models.probe import _distance_map, _radius_from_gradient


class Box(nn.Module):
    """``depth`` 7x7 box filters with zero padding: receptive field radius 3 * depth."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 7, padding=3, bias=False) for _ in range(depth))
        for conv in self.convs:
            nn.init.constant_(conv.weight, 1.0 / 49)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = conv(x)
        return x


class WithMean(Box):
    """Adds the image mean: global context."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + x.mean(dim=(2, 3), keepdim=True)


class WithRamp(Box):
    """Multiplies by a horizontal ramp: local but not shift-equivariant."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ramp = torch.linspace(1.0, 2.0, x.shape[-1], dtype=x.dtype)
        return super().forward(x) * ramp


@pytest.mark.parametrize(("depth", "radius"), [(1, 3), (2, 6), (5, 15)])
def test_box_filters_have_the_radius_worked_out_by_hand(depth: int, radius: int) -> None:
    result = probe_model(Box(depth), in_channels=1, output_stride=1, tolerance=0.0)
    assert result.receptive_field == radius
    assert result.exact
    assert result.output_stride == 1


@pytest.mark.parametrize(("tolerance", "radius"), [(0.0, 2), (0.63, 2), (0.64, 1), (0.96, 0)])
def test_radius_from_gradient_mass(tolerance: float, radius: int) -> None:
    # 5x5 ones around a 1-px block: 1 px at distance 0, 8 at 1, 16 at 2 (of 25)
    grad = torch.ones(5, 5)
    dist = _distance_map(5, 2, 3)
    assert dist.tolist()[0] == [2, 2, 2, 2, 2] and dist.tolist()[2] == [2, 1, 0, 1, 2]
    assert _radius_from_gradient(grad, dist, tolerance) == radius


def test_global_mean_is_detected() -> None:
    result = probe_model(WithMean(1), in_channels=1, output_stride=1, max_size=128)
    assert not result.exact
    assert result.receptive_field is None
    assert "blended" in result.reason


def test_position_dependence_is_detected() -> None:
    result = probe_model(WithRamp(1), in_channels=1, output_stride=1)
    assert not result.exact
    assert "not shift-equivariant" in result.reason


def test_registry_flag_skips_the_measurement() -> None:
    result = probe_model(Box(1), in_channels=1, output_stride=8, global_context=True)
    assert not result.exact and result.receptive_field is None and result.probe_size == 0


def _overlap_tile_matches(module: nn.Module, channels: int, rf: int, stride: int) -> float:
    """Max |logit difference| between a whole image and one crop with halo >= rf."""
    halo = -(-rf // stride) * stride
    size = 2 * halo + 4 * stride
    torch.manual_seed(1)
    x = torch.randn(1, channels, size + 2 * stride, size + 2 * stride)
    with torch.no_grad():
        whole = module(x)
        o = stride  # a stride-aligned origin
        crop = module(x[:, :, o : o + size, o : o + size])
    core = slice(halo, size - halo)
    shifted = slice(o + halo, o + size - halo)
    return float((crop[:, :, core, core] - whole[:, :, shifted, shifted]).abs().max())


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("small_unet", {"channels": [8, 16, 32, 32]}),
        ("segnet", {"channels": [8, 16, 16], "convs": [1, 2, 2]}),
        ("resunet", {"channels": [8, 16, 16, 32]}),
        ("unet", {"encoder_depth": 3, "decoder_channels": [32, 16, 8]}),
    ],
)
def test_real_models_have_a_finite_receptive_field(name: str, config: dict[str, object]) -> None:
    torch.manual_seed(0)
    channels = 2
    module = build_model(name, num_classes=3, in_channels=channels, config=config).eval()
    stride = get(name).stride_for(config)
    result = probe_model(module, in_channels=channels, output_stride=stride)
    assert result.exact, result.reason
    assert result.receptive_field is not None and 0 < result.receptive_field < 200
    # the point of it: a tile with that halo reproduces the whole-image logits
    assert _overlap_tile_matches(module, channels, result.receptive_field, stride) < 1e-3


@pytest.mark.parametrize("name", ["pspnet", "deeplabv3plus"])
def test_global_context_models_are_not_exact(name: str) -> None:
    module = build_model(name, num_classes=2, in_channels=3).eval()
    result = probe_model(module, in_channels=3, output_stride=16, max_size=128)
    assert not result.exact
    assert result.receptive_field is None


def test_probe_leaves_the_module_alone() -> None:
    module = build_model("small_unet", num_classes=2, in_channels=1)
    module.train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    probe_model(module, in_channels=1, output_stride=8)
    assert module.training
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert next(module.parameters()).dtype == torch.float32
