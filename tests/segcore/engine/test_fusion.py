"""Panoptic fusion: hand-checked rules, the class check, and tessera panoptic's files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from segcore.engine.fusion import FusedLabels, FusionRules, class_lut, stuff_areas
from segcore.errors import InferenceError
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.schema import UNLABELLED, ClassInfo

SEMANTIC = (
    ClassInfo(0, "road", (0, 0, 0), False),
    ClassInfo(1, "grass", (0, 255, 0), False),
    ClassInfo(2, "car", (255, 0, 0), True),
)
INSTANCE = (ClassInfo(0, "background", (0, 0, 0), False), ClassInfo(1, "car", (255, 0, 0), True))


def _fused(rules: FusionRules) -> FusedLabels:
    sem = np.array([[0, 0, 0, 1], [0, 2, 2, 0], [0, 2, 2, 0]], np.uint8)
    ids = np.array([[0, 0, 0, 0], [0, 5, 5, 7], [0, 5, 0, 7]], np.uint32)
    objects = ArrayLabels((ids > 0).astype(np.uint8), INSTANCE, instances=ids)
    fused = FusedLabels(
        ArrayLabels(sem, SEMANTIC),
        objects,
        classes=SEMANTIC,
        lut=class_lut(SEMANTIC, INSTANCE),
        scores={5: 0.9, 7: 0.3},
        rules=rules,
    )
    return fused.keeping(run_to_end(stuff_areas(fused)))


def test_things_come_from_objects_and_stuff_from_the_semantic_map() -> None:
    fused = _fused(FusionRules(score=0.5, min_stuff_area=2))
    V = UNLABELLED
    assert fused.read("instance", 0, 0, 4, 3).tolist() == [
        [0, 0, 0, 0],
        [0, 5, 5, 0],
        [0, 5, 0, 0],
    ]  # object 7 scores 0.3 < 0.5: dropped
    assert fused.read("semantic", 0, 0, 4, 3).tolist() == [
        [0, 0, 0, V],  # one grass pixel: below the stuff area of 2
        [0, 2, 2, 0],  # object 7's pixels fall back to the semantic map's road
        [0, 2, V, 0],  # a car pixel of the semantic map without an object is void
    ]


def test_lower_thresholds_keep_more() -> None:
    fused = _fused(FusionRules(score=0.2, min_stuff_area=1))
    assert fused.read("instance", 3, 1, 1, 2).ravel().tolist() == [7, 7]
    assert fused.read("semantic", 3, 0, 1, 1).item() == 1


def test_object_classes_must_be_thing_classes_of_the_semantic_model() -> None:
    other = (INSTANCE[0], ClassInfo(1, "nucleus", (1, 1, 1), True))
    with pytest.raises(InferenceError, match="'nucleus' of the instance model"):
        class_lut(SEMANTIC, other)


def test_tessera_panoptic_writes_coco_panoptic(tmp_path: Path) -> None:
    import torch

    from segcore.cli import main
    from segcore.models import create_model, save_model
    from segcore.synthetic import write_geotiff

    torch.manual_seed(0)
    sem = save_model(
        tmp_path / "sem.safetensors",
        *create_model("small_unet", classes=list(SEMANTIC), in_channels=3),
    )
    inst = save_model(
        tmp_path / "inst.safetensors",
        *create_model("instance_unet", classes=list(INSTANCE), in_channels=3),
    )
    image = write_geotiff(tmp_path / "scene.tif", 96, 80)
    out = tmp_path / "out"
    args = [
        "panoptic",
        str(image),
        "--semantic-model",
        str(sem),
        "--instance-model",
        str(inst),
        "-o",
        str(out),
        "--device",
        "cpu",
        "--min-stuff-area",
        "10",
    ]
    assert main(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "instance_classes.tif",
        "instances.tif",
        "objects.csv",
        "panoptic",
        "panoptic.json",
        "semantic.tif",
    ]
    data = json.loads((out / "panoptic.json").read_text())
    segments = data["annotations"][0]["segments_info"]
    from PIL import Image

    from segcore.formats.panoptic import rgb_to_id

    ids = rgb_to_id(np.asarray(Image.open(out / "panoptic" / "scene.png")))
    assert sorted(np.unique(ids[ids > 0]).tolist()) == sorted(s["id"] for s in segments)
    assert all(s["area"] >= 10 for s in segments if s["category_id"] != 3)  # stuff rule
    assert main(args) == 2  # the folder is not empty now: refused, nothing overwritten
