"""The instance U-Net: registered, dense output channels, task kept in the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from segcore.errors import ModelError
from segcore.models import create_model, get, load_model, read_meta, save_model
from segcore.models.instance import dense_channels
from segcore.models.meta import ModelMeta


def test_the_instance_unet_is_registered_as_an_instance_architecture() -> None:
    entry = get("instance_unet")
    assert entry.task == "instance" and entry.output_stride == 8
    assert get("small_unet").task == "semantic"
    assert get("instance_smp_unet").task == "instance"


def test_dense_channels_add_class_logits_only_for_several_object_classes() -> None:
    assert dense_channels(2) == 3
    assert dense_channels(4) == 7


def test_an_instance_model_file_says_it_is_one(tmp_path: Path) -> None:
    module, meta = create_model("instance_unet", classes=["background", "nucleus"], in_channels=1)
    assert meta.task == "instance" and meta.exact and meta.receptive_field is not None
    assert module(torch.zeros(1, 1, 32, 32)).shape == (1, 3, 32, 32)
    path = save_model(tmp_path / "nuclei.safetensors", module, meta)
    assert read_meta(path).task == "instance"
    loaded = load_model(path)
    assert loaded.meta == meta
    with torch.no_grad():
        x = torch.rand(1, 1, 40, 48)
        assert torch.equal(loaded.module(x), module.eval()(x))


def test_old_files_are_semantic_and_unknown_tasks_are_refused() -> None:
    _, meta = create_model("small_unet", classes=2, in_channels=1)
    data = meta.to_json()
    del data["task"]
    assert ModelMeta.from_json(data).task == "semantic"
    data["task"] = "volumetric-panoptic"
    with pytest.raises(ModelError, match="update Tessera"):
        ModelMeta.from_json(data)
