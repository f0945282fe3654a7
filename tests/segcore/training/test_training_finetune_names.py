"""Fine-tuning after the project's classes changed: classes matched to channels by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from training_helpers import tiny_config, two_class_data

from segcore.jobs import run_to_end
from segcore.labels.schema import ClassInfo, make_classes
from segcore.training import train
from segcore.training.data import data_from_arrays
from segcore.training.finetune import by_name


def test_by_name_keeps_channels_and_appends_new_classes() -> None:
    model = make_classes(["dark", "bright"])
    labels = [
        ClassInfo(0, "grey", (1, 1, 1)),
        ClassInfo(1, "light", (2, 2, 2), aliases=("bright",)),
        ClassInfo(2, "dark", (3, 3, 3)),
    ]
    classes, table = by_name(model, labels)
    assert [(c.id, c.name) for c in classes] == [(0, "dark"), (1, "light"), (2, "grey")]
    assert table[:3].tolist() == [2, 1, 0]
    unnamed, ids = by_name(make_classes(["class 0", "class 1"]), labels)
    assert unnamed == tuple(labels) and ids[:3].tolist() == [0, 1, 2]  # ids as they are


def test_finetune_after_reorder_trains_the_same_channels(tmp_path: Path) -> None:
    first_file = tmp_path / "first.safetensors"
    run_to_end(train(tiny_config(epochs=1, output=first_file), data=two_class_data()))
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 32:] = 200
    mask = np.ones((64, 64), np.uint8)  # the project now lists bright first: dark is 1
    mask[:, 32:] = 0
    data = data_from_arrays([image], [mask], classes=["bright", "dark"])
    out = tmp_path / "second.safetensors"
    second = run_to_end(train(tiny_config(epochs=1, output=out), data=data, model=first_file))
    assert [c.name for c in second.meta.classes] == ["dark", "bright"]  # channels kept
    assert second.meta.num_classes == 2
