"""Every registered architecture builds, runs and round-trips through a model file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from segcore.models import get, list_archs, load_model, save_model
from segcore.models.build import build_model
from segcore.models.files import default_normalization
from segcore.models.instance import dense_channels
from segcore.models.meta import ModelMeta
from segcore.models.sidecar import classes_from

NAMES = [e.name for e in list_archs() if e.family != "sklearn"]  # the forest is no module


@pytest.mark.parametrize("name", NAMES)
def test_builds_runs_and_round_trips(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    in_channels = 1 if NAMES.index(name) % 2 else 4
    module = build_model(name, num_classes=3, in_channels=in_channels).eval()
    x = torch.randn(1, in_channels, 32, 32)
    with torch.no_grad():
        y = module(x)
    channels = dense_channels(3) if get(name).task == "instance" else 3
    assert y.shape == (1, channels, 32, 32)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()

    entry = get(name)
    meta = ModelMeta(
        arch=name,
        config={"encoder": entry.default_encoder} if entry.encoders else {},
        in_channels=in_channels,
        classes=classes_from(3),
        normalization=default_normalization(in_channels),
    )
    path = save_model(tmp_path / "m.safetensors", module, meta)
    loaded = load_model(path)
    assert not loaded.module.training
    saved, restored = module.state_dict(), loaded.module.state_dict()
    assert saved.keys() == restored.keys()
    assert all(torch.equal(saved[k], restored[k]) for k in saved)
    with torch.no_grad():
        # Weights are equal bit for bit; oneDNN may pick another kernel for a freshly
        # built module (torch 2.15 on deeplabv3_resnet101: 1.2e-5 apart on logits ~33).
        torch.testing.assert_close(loaded.module(x), y, rtol=1e-5, atol=1e-4)
    assert loaded.meta == meta


@pytest.mark.parametrize("encoder", ["resnet34", "resnet50", "mobilenet_v2", "efficientnet-b0"])
def test_smp_unet_encoders(encoder: str) -> None:
    module = build_model("unet", num_classes=2, in_channels=5, encoder=encoder).eval()
    with torch.no_grad():
        assert module(torch.randn(1, 5, 32, 32)).shape == (1, 2, 32, 32)


def test_torchvision_first_conv_takes_the_band_count() -> None:
    module = build_model("fcn_resnet50", num_classes=2, in_channels=7)
    first = next(m for m in module.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 7


def test_tessera_models_refuse_unaligned_sizes() -> None:
    module = build_model("small_unet", num_classes=2, in_channels=1).eval()
    with pytest.raises(ValueError, match="pad it to 40x32"):
        module(torch.zeros(1, 1, 36, 32))
