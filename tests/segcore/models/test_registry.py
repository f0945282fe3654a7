from __future__ import annotations

import pytest

from segcore.errors import ModelError
from segcore.models import get, list_archs
from segcore.models.build import build_model
from segcore.models.registry import ArchEntry, register

EXPECTED = {
    "fcn_resnet50",
    "fcn_resnet101",
    "deeplabv3_resnet50",
    "deeplabv3_resnet101",
    "deeplabv3_mobilenet_v3_large",
    "lraspp_mobilenet_v3_large",
    "unet",
    "unetplusplus",
    "fpn",
    "pspnet",
    "deeplabv3plus",
    "segformer",
    "upernet",
    "segnet",
    "resunet",
    "small_unet",
    "pixel-classifier",  # issue 12: a random forest, trained by segcore.pixelclass
    "instance_unet",  # issue 15: foreground, boundary and distance maps
    "instance_smp_unet",
}


def test_every_architecture_of_the_issue_is_registered() -> None:
    names = [e.name for e in list_archs()]
    assert set(names) == EXPECTED
    assert names == sorted(names)


def test_entries_carry_metadata() -> None:
    assert get("pspnet").global_context
    assert not get("unet").global_context
    assert get("unet").family == "smp"
    assert {"resnet18", "resnet34", "resnet50", "mobilenet_v2", "efficientnet-b0"} <= set(
        get("unet").encoders
    )
    assert get("small_unet").output_stride == 8
    assert get("fcn_resnet50").encoders == ()


def test_register_refuses_duplicates() -> None:
    entry = get("small_unet")
    with pytest.raises(ModelError, match="already registered"):
        register(entry)


def test_register_accepts_a_new_name() -> None:
    from segcore.models import registry

    entry = ArchEntry("test_only_arch", "tessera", "x", builder=get("small_unet").builder)
    try:
        register(entry)
        assert get("test_only_arch") is entry
    finally:
        registry._REGISTRY.pop("test_only_arch")


def test_unknown_name_suggests_nearest() -> None:
    with pytest.raises(ModelError, match="did you mean small_unet") as err:
        get("smal_unet")
    assert "'smal_unet'" in str(err.value)
    with pytest.raises(ModelError, match="tessera models list"):
        get("zzzzzz")


def test_unknown_encoder_suggests_nearest() -> None:
    with pytest.raises(ModelError, match="did you mean resnet18"):
        build_model("unet", num_classes=2, in_channels=3, encoder="resnet-18")


def test_encoder_on_fixed_backbone_is_refused() -> None:
    with pytest.raises(ModelError, match="no encoder choice"):
        build_model("small_unet", num_classes=2, in_channels=3, encoder="resnet18")


def test_bad_counts_and_config_are_model_errors() -> None:
    with pytest.raises(ModelError, match="must be >= 1"):
        build_model("small_unet", num_classes=0, in_channels=3)
    with pytest.raises(ModelError, match="cannot build small_unet"):
        build_model("small_unet", num_classes=2, in_channels=3, config={"depth": 3})


def test_listing_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from segcore.models import list_archs; n = len(list_archs()); "
        "assert 'torch' not in sys.modules, 'torch imported'; print(n)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(len(EXPECTED))


@pytest.mark.parametrize(
    ("name", "config", "stride"),
    [
        ("small_unet", {}, 8),
        ("small_unet", {"channels": [8, 16]}, 2),
        ("segnet", {"channels": [8, 16, 16]}, 8),
        ("resunet", {"channels": [8, 16, 32, 64, 128]}, 16),
        ("unet", {"encoder_depth": 4}, 16),
        ("pspnet", {}, 8),
        ("deeplabv3plus", {"encoder_output_stride": 8}, 8),
        ("fcn_resnet50", {"aux_loss": False}, 8),
    ],
)
def test_stride_follows_the_config(name: str, config: dict[str, object], stride: int) -> None:
    assert get(name).stride_for(config) == stride


def test_stride_of_bad_config() -> None:
    with pytest.raises(ModelError, match="bad config"):
        get("small_unet").stride_for({"channels": 3})


def test_the_pixel_classifier_is_listed_but_not_built() -> None:
    entry = get("pixel-classifier")
    assert entry.family == "sklearn" and entry.output_stride == 1 and not entry.global_context
    with pytest.raises(ModelError, match="tessera train --arch pixel-classifier"):
        build_model("pixel-classifier", num_classes=2, in_channels=3)
