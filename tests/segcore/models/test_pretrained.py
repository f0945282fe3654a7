"""Pretrained weights offline: the message names the file and the folder to put it in."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import pytest
import torch

from segcore.errors import ModelError
from segcore.models import build_model


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No network, and an empty torch hub folder."""
    import huggingface_hub
    import torch.hub

    def refuse(*args: object, **kwargs: object) -> None:
        raise URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    return tmp_path / "hub" / "checkpoints"


def test_torchvision_offline_message(offline: Path) -> None:
    with pytest.raises(ModelError) as err:
        build_model("fcn_resnet50", num_classes=2, in_channels=3, pretrained=True)
    message = str(err.value)
    assert "network is unreachable" in message
    assert str(offline / "resnet50-0676ba61.pth") in message
    assert "https://download.pytorch.org/models/resnet50-0676ba61.pth" in message


def test_smp_offline_message(offline: Path) -> None:
    with pytest.raises(ModelError) as err:
        build_model("unet", num_classes=2, in_channels=3, encoder="resnet18", pretrained=True)
    message = str(err.value)
    assert str(offline / "smp-hub--resnet18.imagenet.safetensors") in message
    assert "huggingface.co/smp-hub/resnet18.imagenet" in message


def test_smp_weights_from_the_hub_folder(offline: Path) -> None:
    """A file placed where the message says is used, and bands beyond RGB are adapted."""
    from safetensors.torch import save_file

    source = build_model("unet", num_classes=2, in_channels=3, encoder="resnet18")
    state = {k: v.contiguous() for k, v in source.encoder.state_dict().items()}  # type: ignore[union-attr]
    offline.mkdir(parents=True)
    save_file(state, offline / "smp-hub--resnet18.imagenet.safetensors")
    model = build_model("unet", num_classes=2, in_channels=4, encoder="resnet18", pretrained=True)
    conv1 = model.encoder.conv1.weight  # type: ignore[union-attr]
    assert conv1.shape[1] == 4
    assert torch.equal(model.encoder.layer4[0].conv1.weight, state["layer4.0.conv1.weight"])  # type: ignore[union-attr, index]


def test_no_weights_for_tessera_architectures() -> None:
    with pytest.raises(ModelError, match="no pretrained weights"):
        build_model("segnet", num_classes=2, in_channels=3, pretrained=True)
