"""Where PyTorch is not installed (the desktop bundle): model files run in onnxruntime."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from engine_helpers import build

from segcore.engine import InferOptions, backend, infer
from segcore.engine.runners import OnnxRunner
from segcore.errors import ModelError
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.models import files, onnx_cache
from segcore.models.files import read_meta, save_model
from segcore.synthetic import make_scene


@pytest.fixture
def model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    model = build("small_unet", classes=2)
    return save_model(tmp_path / "m.safetensors", model.module, model.meta)


def test_without_torch_a_torch_request_runs_in_onnxruntime(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "has_torch", lambda: False)
    ref = backend.ModelRef(read_meta(model_file), None, model_file, str(model_file))
    job = backend.make_runner(ref, device="cpu", backend="torch", precision="fp32", pixels=64 * 64)
    runner, _ = run_to_end(job)
    assert isinstance(runner, OnnxRunner)
    image = make_scene(64, 64, seed=2).image
    options = InferOptions(device="auto", backend="torch", tile=64)
    assert run_to_end(infer(ArraySource(image), model_file, options=options)).backend.startswith(
        "onnx"
    )
    assert backend.pick_device("auto") == "cpu"


def test_a_frozen_app_uses_the_copy_it_ships(
    model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = onnx_cache.cached_onnx(model_file, in_process=True)
    bundle = tmp_path / "bundle"
    (bundle / "onnx").mkdir(parents=True)
    shipped = bundle / "onnx" / made.name
    shutil.copyfile(made, shipped)
    made.unlink()  # the user's cache has none
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)

    def no_export(*args: object) -> None:
        raise AssertionError("exported although the bundle ships a copy")

    monkeypatch.setattr(onnx_cache, "_export", no_export)
    assert onnx_cache.cached_onnx(model_file) == shipped


def test_exporting_without_torch_says_what_to_do(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_torch(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(files, "load_model", no_torch)
    with pytest.raises(ModelError, match=r"m.safetensors: .*needs PyTorch.*tessera models export"):
        onnx_cache.cached_onnx(model_file, in_process=True)
    assert not list(onnx_cache.onnx_dir().glob("*.refused"))  # not remembered: torch may come
