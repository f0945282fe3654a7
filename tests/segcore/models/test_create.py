"""create_model: classes, normalisation, tile size, probe results in the metadata."""

from __future__ import annotations

import pytest

from segcore.errors import ModelError
from segcore.labels.schema import ClassInfo
from segcore.models import create_model, reprobe
from segcore.models.meta import Normalization

SMALL = {"channels": [8, 16]}


def test_class_names_count_and_infos() -> None:
    _, meta = create_model("small_unet", classes=["bg", "road"], in_channels=3, config=SMALL)
    assert [c.name for c in meta.classes] == ["bg", "road"]
    _, meta = create_model("small_unet", classes=3, in_channels=3, config=SMALL)
    assert [c.name for c in meta.classes] == ["class_0", "class_1", "class_2"]
    infos = (ClassInfo(0, "water", (0, 0, 255)), ClassInfo(1, "land", (0, 255, 0), thing=True))
    _, meta = create_model("small_unet", classes=infos, in_channels=3, config=SMALL)
    assert meta.classes == infos


def test_defaults_and_rounding() -> None:
    _, meta = create_model("small_unet", classes=2, in_channels=2, tile_size=100, config=SMALL)
    assert meta.output_stride == 2
    assert meta.tile_size == 100
    _, meta = create_model("small_unet", classes=2, in_channels=2, tile_size=101, config=SMALL)
    assert meta.tile_size == 102
    assert meta.normalization == Normalization((0.0, 0.0), (1.0, 1.0), 255.0)
    assert meta.config == SMALL
    assert meta.extra["probe"]["tolerance"] == 1e-5
    _, meta = create_model("small_unet", classes=2, in_channels=1, config={"channels": [4, 4, 4]})
    assert meta.tile_size == 256  # the architecture's default
    assert meta.output_stride == 4


def test_smp_meta_records_the_encoder() -> None:
    _, meta = create_model("pspnet", classes=2, in_channels=3)
    assert meta.config == {"encoder": "resnet18"}
    assert not meta.exact and meta.receptive_field is None


@pytest.mark.parametrize(
    ("classes", "message"),
    [([], "bad classes"), (["a", "a"], "unique"), (0, "bad classes")],
)
def test_bad_classes(classes: object, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        create_model("small_unet", classes=classes, in_channels=1)  # type: ignore[arg-type]


def test_normalization_must_match_bands() -> None:
    norm = Normalization((0.5,), (0.2,))
    with pytest.raises(ModelError, match="1 means and 1 stds for 3 input bands"):
        create_model("small_unet", classes=2, in_channels=3, normalization=norm)


def test_reprobe_updates_the_receptive_field() -> None:
    import torch

    module, meta = create_model("small_unet", classes=2, in_channels=1, config=SMALL)
    with torch.no_grad():  # a 'trained' model whose deep path dominates
        for p in module.parameters():
            p.mul_(3.0)
    again = reprobe(module, meta)
    assert again.exact
    assert again.receptive_field is not None and meta.receptive_field is not None
    assert again.receptive_field >= meta.receptive_field
    assert again.classes == meta.classes
