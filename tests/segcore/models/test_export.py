"""TorchScript and ONNX export, with sidecar metadata; onnxruntime agrees with torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from segcore.errors import ModelError
from segcore.models import load_model, read_onnx_meta
from segcore.models.meta import ModelMeta
from segcore.models.portable import export_onnx, export_torchscript, onnx_session

Tiny = tuple[torch.nn.Module, ModelMeta, Path]


def test_onnx_equals_torch(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, path = tiny
    out = export_onnx(load_model(path), tmp_path / "m.onnx")
    assert read_onnx_meta(out) == meta
    assert json.loads((tmp_path / "m.json").read_text())["arch"] == "small_unet"
    run = onnx_session(out, threads=1)
    x = torch.randn(3, 2, 40, 56)  # another batch and size than exported with
    got = run(["logits"], {"input": x.numpy()})[0]
    with torch.no_grad():
        expected = module(x).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_onnx_static(tiny: Tiny, tmp_path: Path) -> None:
    _, meta, path = tiny
    out = export_onnx(load_model(path), tmp_path / "s.onnx", dynamic=False)
    run = onnx_session(out, threads=1)
    x = np.zeros((1, 2, meta.tile_size, meta.tile_size), np.float32)
    side = meta.tile_size
    assert np.asarray(run(["logits"], {"input": x})[0]).shape == (1, 3, side, side)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_equals_torch(tiny: Tiny, tmp_path: Path) -> None:
    module, meta, path = tiny
    out = export_torchscript(load_model(path), tmp_path / "m.pt")
    scripted = torch.jit.load(str(out))
    x = torch.randn(1, 2, 24, 40)
    with torch.no_grad():
        assert torch.allclose(scripted(x), module(x), atol=1e-6)
    assert json.loads((tmp_path / "m.json").read_text())["in_channels"] == meta.in_channels


def test_export_bad_paths(tiny: Tiny, tmp_path: Path) -> None:
    _, _, path = tiny
    loaded = load_model(path)
    with pytest.raises(ModelError, match=r"ending in \.onnx"):
        export_onnx(loaded, tmp_path / "m.pt")
    with pytest.raises(ModelError, match="does not exist"):
        export_torchscript(loaded, tmp_path / "missing" / "m.pt")


def test_onnx_session_on_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a graph")
    with pytest.raises(ModelError, match="onnxruntime cannot load"):
        onnx_session(bad)
