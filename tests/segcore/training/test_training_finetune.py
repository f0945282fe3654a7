"""Fine-tuning: a class added since training gets a new output channel, the rest is kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import TINY, tiny_config, two_class_data

from segcore.errors import TrainingError
from segcore.jobs import run_to_end
from segcore.labels.schema import make_classes
from segcore.models.build import build_model
from segcore.models.create import create_model
from segcore.training.data import data_from_arrays
from segcore.training.finetune import classifier, expand_classes, merged_classes
from segcore.training.loop import train


def test_expand_keeps_old_weights_and_adds_a_channel() -> None:
    torch.manual_seed(0)
    module, meta = create_model("small_unet", classes=["a", "b"], in_channels=3, config=TINY)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    x = torch.randn(1, 3, 16, 16)
    module.eval()
    old_logits = module(x)
    grown, new_meta = expand_classes(module, meta, make_classes(["a", "b", "c"]))
    assert new_meta.num_classes == 3 and [c.name for c in new_meta.classes] == ["a", "b", "c"]
    new_logits = grown(x)
    assert new_logits.shape == (1, 3, 16, 16)
    torch.testing.assert_close(new_logits[:, :2], old_logits)
    after = grown.state_dict()
    for key, value in before.items():
        if key.startswith("head."):
            torch.testing.assert_close(after[key][:2], value)
        else:
            assert torch.equal(after[key], value), key


def test_expand_finds_the_smp_segmentation_head() -> None:
    module = build_model("unet", num_classes=2, in_channels=3, encoder="resnet18")
    name, conv = classifier(module, 2)
    assert name == "segmentation_head.0" and conv.out_channels == 2
    _, meta = create_model("small_unet", classes=["a", "b"], in_channels=3, config=TINY)
    expand_classes(module, meta, make_classes(["a", "b", "c", "d"]))
    assert module.segmentation_head[0].out_channels == 4


def test_same_classes_change_nothing() -> None:
    module, meta = create_model("small_unet", classes=["a", "b"], in_channels=3, config=TINY)
    head = module.head
    grown, new_meta = expand_classes(module, meta, meta.classes)
    assert grown.head is head and new_meta == meta


def test_merged_classes_refuses_dropped_classes_and_gaps() -> None:
    old = make_classes(["a", "b", "c"])
    with pytest.raises(TrainingError, match=r"\['c'\]"):
        merged_classes(old, old[:2])
    with pytest.raises(TrainingError, match="without gaps"):
        merged_classes(old[:1], [old[0], old[2]])


def test_finetune_with_a_new_class(tmp_path: Path) -> None:
    first_file = tmp_path / "first.safetensors"
    first = run_to_end(train(tiny_config(epochs=2, output=first_file), data=two_class_data()))
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 32:] = 200
    image[40:, :] = 90
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 1
    mask[40:, :] = 2
    data = data_from_arrays([image], [mask], classes=["dark", "bright", "grey"])
    out = tmp_path / "second.safetensors"
    second = run_to_end(train(tiny_config(epochs=2, output=out), data=data, model=first_file))
    assert [c.name for c in second.meta.classes] == ["dark", "bright", "grey"]
    runs = [(h["run"], h["epoch"]) for h in second.meta.history]
    assert runs == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert second.meta.normalization == first.meta.normalization
    assert first.meta.num_classes == 2  # the starting model was copied, not changed
    assert first.module.head.out_channels == 2
