"""Model files: round trip, header-only metadata, .pth + sidecar, and every kind of bad file."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from segcore.errors import ModelError
from segcore.labels.schema import make_classes
from segcore.models import load_model, read_meta, read_onnx_meta, save_model
from segcore.models.files import META_KEY
from segcore.models.meta import FORMAT_VERSION, ModelMeta, Normalization

Tiny = tuple[torch.nn.Module, ModelMeta, Path]


def test_round_trip_gives_identical_logits(tiny: Tiny) -> None:
    module, meta, path = tiny
    loaded = load_model(path)
    x = torch.randn(2, 2, 16, 24)
    with torch.no_grad():
        assert torch.equal(loaded.module(x), module(x))
    assert loaded.meta == meta
    assert loaded.path == path
    assert meta.exact and meta.receptive_field is not None
    assert meta.output_stride == 2


def test_one_file_and_no_temporary_left(tiny: Tiny) -> None:
    _, _, path = tiny
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.safetensors"]


def test_save_refuses_other_suffix(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, _ = tiny
    with pytest.raises(ModelError, match=r"end in \.safetensors"):
        save_model(tmp_path / "m.pt", module, meta)


def test_save_into_missing_folder_is_a_model_error(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, _ = tiny
    with pytest.raises(ModelError):
        save_model(tmp_path / "nope" / "m.safetensors", module, meta)


def test_overwrite_replaces_the_file(tiny: Tiny) -> None:
    module, meta, path = tiny
    save_model(path, module, replace(meta, tile_size=64))
    assert read_meta(path).tile_size == 64


def test_read_meta_does_not_import_torch(tiny: Tiny) -> None:
    _, meta, path = tiny
    code = (
        "import sys; from segcore.models import read_meta; m = read_meta(sys.argv[1]); "
        "assert 'torch' not in sys.modules, 'torch imported'; print(m.arch)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == meta.arch


def test_pth_state_dict_with_sidecar(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, _ = tiny
    pth = tmp_path / "other.pth"
    torch.save(module.state_dict(), pth)
    (tmp_path / "other.json").write_text(json.dumps(meta.to_json()))
    loaded = load_model(pth)
    x = torch.randn(1, 2, 8, 8)
    with torch.no_grad():
        assert torch.equal(loaded.module(x), module(x))


def test_pth_without_sidecar(tiny: Tiny, tmp_path: Path) -> None:
    module, _, _ = tiny
    pth = tmp_path / "lonely.pth"
    torch.save(module.state_dict(), pth)
    with pytest.raises(ModelError, match="sidecar lonely.json"):
        load_model(pth)


class Evil:
    pass


def test_pth_with_pickled_object_is_refused(tiny: Tiny, tmp_path: Path) -> None:
    _, meta, _ = tiny
    pth = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, pth)
    (tmp_path / "evil.json").write_text(json.dumps(meta.to_json()))
    with pytest.raises(ModelError, match="never unpickles") as err:
        load_model(pth)
    assert "weights_only" not in str(err.value)  # PyTorch's advice to load it unsafely


def test_pth_whole_module_is_refused(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, _ = tiny
    pth = tmp_path / "module.pth"
    torch.save(module, pth)
    (tmp_path / "module.json").write_text(json.dumps(meta.to_json()))
    with pytest.raises(ModelError, match="state_dict"):
        load_model(pth)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "shorter than a safetensors header"),
        (b"\x05\x00\x00\x00\x00\x00\x00\x00{}", "truncated"),
        (b"\xff" * 64, "implausible"),
        (b"\x02\x00\x00\x00\x00\x00\x00\x00[]", "not a JSON object"),
        (b"GIF89a just an image file", "not a readable safetensors"),
    ],
)
def test_non_model_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as err:
        load_model(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model file"):
        read_meta(tmp_path / "gone.safetensors")


def test_truncated_weights(tiny: Tiny, tmp_path: Path) -> None:
    _, _, path = tiny
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) - 100])
    # The header is intact, but it says where the weights end: refused before any loading.
    with pytest.raises(ModelError, match="weights end at byte .* truncated"):
        read_meta(cut)
    with pytest.raises(ModelError, match="truncated"):
        load_model(cut)


def _write(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, object] | None) -> Path:
    save_file(tensors, path, metadata=None if meta is None else {META_KEY: json.dumps(meta)})
    return path


def test_weights_only_safetensors(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.safetensors", {"a": torch.zeros(2)}, None)
    with pytest.raises(ModelError, match="without Tessera metadata"):
        load_model(path)


def test_wrong_tensors(tiny: Tiny, tmp_path: Path) -> None:
    _, meta, _ = tiny
    path = _write(tmp_path / "w.safetensors", {"a": torch.zeros(2)}, meta.to_json())
    with pytest.raises(ModelError, match="do not fit architecture 'small_unet'"):
        load_model(path)


def test_tensors_for_other_band_count(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, _ = tiny
    path = save_model(tmp_path / "w.safetensors", module, replace(meta, in_channels=3))
    with pytest.raises(ModelError, match="size mismatch"):
        load_model(path)


def test_unknown_arch(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, _ = tiny
    path = save_model(tmp_path / "w.safetensors", module, replace(meta, arch="smal_unet"))
    with pytest.raises(ModelError, match="did you mean small_unet") as err:
        load_model(path)
    assert "w.safetensors" in str(err.value)


def test_newer_format_version(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, _ = tiny
    newer = replace(meta, format_version=FORMAT_VERSION + 1)
    path = save_model(tmp_path / "w.safetensors", module, newer)
    with pytest.raises(ModelError, match="newer than this Tessera reads.*update Tessera"):
        read_meta(path)


def test_metadata_not_json(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_file({"a": torch.zeros(1)}, path, metadata={META_KEY: "{nope"})
    with pytest.raises(ModelError, match="not valid JSON"):
        read_meta(path)


def test_metadata_missing_field(tiny: Tiny, tmp_path: Path) -> None:
    _, meta, _ = tiny
    data = meta.to_json()
    del data["normalization"]
    path = _write(tmp_path / "w.safetensors", {"a": torch.zeros(1)}, data)
    with pytest.raises(ModelError, match="normalization"):
        read_meta(path)


def test_onnx_short_sidecar(tmp_path: Path) -> None:
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"not checked here")
    (tmp_path / "m.json").write_text(
        json.dumps(
            {
                "classes": ["background", "building"],
                "in_channels": 3,
                "normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
                "tile_size": 256,
            }
        )
    )
    meta = read_onnx_meta(onnx)
    assert [c.name for c in meta.classes] == ["background", "building"]
    assert meta.in_channels == 3 and meta.tile_size == 256
    assert meta.normalization.scale == 255.0
    assert meta.exact is False and meta.receptive_field is None
    assert read_meta(onnx) == meta


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        (None, "needs a sidecar m.json"),
        ({"classes": 2}, "lacks in_channels, normalization"),
        (
            {"classes": 2, "in_channels": 3, "normalization": {"mean": [0], "std": [1]}},
            "needs 3 mean and std values",
        ),
        (
            {"classes": 2, "in_channels": 1, "normalization": {"mean": [0], "std": [0]}},
            "std must not be 0",
        ),
        (
            {"classes": "two", "in_channels": 1, "normalization": {"mean": [0], "std": [1]}},
            "classes must be",
        ),
    ],
)
def test_onnx_bad_sidecar(tmp_path: Path, sidecar: object, message: str) -> None:
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    if sidecar is not None:
        (tmp_path / "m.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match=message):
        read_onnx_meta(onnx)


_names = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1),
    min_size=1,
    max_size=6,
    unique=True,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=_names,
    bands=st.integers(1, 5),
    scale=st.floats(1e-3, 1e5),
    tile=st.integers(8, 4096),
    rf=st.none() | st.integers(0, 1000),
)
def test_metadata_round_trips(
    tiny: Tiny,
    tmp_path: Path,
    names: list[str],
    bands: int,
    scale: float,
    tile: int,
    rf: int | None,
) -> None:
    module, meta, _ = tiny
    norm = Normalization(tuple(0.1 * i for i in range(bands)), (0.5,) * bands, scale)
    changed = replace(
        meta,
        classes=tuple(make_classes(names)),
        in_channels=bands,
        normalization=norm,
        tile_size=tile,
        receptive_field=rf,
        exact=rf is not None,
        history=({"epoch": 1, "loss": 0.5},),
    )
    path = save_model(tmp_path / "p.safetensors", module, changed)
    assert read_meta(path) == changed
