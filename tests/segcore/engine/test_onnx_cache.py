"""Model files run on a cached ONNX copy: exported once, in a child process, never torch again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import build, whole_image_logits

from segcore.engine import InferOptions, backend, infer
from segcore.errors import ModelError
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.models import onnx_cache
from segcore.models.files import save_model
from segcore.synthetic import make_scene, write_geotiff

ONNX = InferOptions(device="cpu", backend="onnx", logits=True, tile=64)


@pytest.fixture
def model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, object]:
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    model = build("small_unet", classes=3)
    path = save_model(tmp_path / "m.safetensors", model.module, model.meta)
    return path, model


def test_model_file_runs_on_its_cached_onnx_copy_without_importing_torch(
    tmp_path: Path, model_file: tuple[Path, object]
) -> None:
    path, model = model_file
    image = make_scene(100, 90, seed=4).image
    result = run_to_end(infer(ArraySource(image), path, options=ONNX))
    assert result.backend.startswith("onnx")
    assert result.logits is not None
    assert np.abs(result.logits - whole_image_logits(model, image)).max() <= 1e-3  # type: ignore[arg-type]
    copies = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(copies) == 1
    # A new process: the copy is found by content, and PyTorch is never imported.
    tif = write_geotiff(tmp_path / "scene.tif", 96, 96)
    code = (
        "import sys\n"
        "from segcore.engine import InferOptions, infer\n"
        "from segcore.jobs import run_to_end\n"
        f"r = run_to_end(infer({str(tif)!r}, {str(path)!r}, {str(tmp_path / 'out.tif')!r},"
        " options=InferOptions(device='auto', backend='onnx', tile=64)))\n"
        "print(r.backend, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["onnx-CPU", "False"]


def test_a_damaged_copy_is_exported_again(model_file: tuple[Path, object]) -> None:
    path, _ = model_file
    copy = onnx_cache.cached_onnx(path, in_process=True)
    copy.write_bytes(b"half a file")
    result = run_to_end(infer(ArraySource(make_scene(64, 64).image), path, options=ONNX))
    assert result.backend.startswith("onnx")
    assert copy.stat().st_size > 1000


def test_a_model_that_cannot_be_exported_is_remembered_and_runs_in_pytorch(
    model_file: tuple[Path, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = model_file
    calls = []

    def refuse(*args: object, **kwargs: object) -> Path:
        calls.append(1)
        raise ModelError("this model cannot be exported to ONNX: no dice")

    monkeypatch.setattr("segcore.models.portable.export_onnx", refuse)
    for _ in range(2):
        with pytest.raises(ModelError, match="no dice"):
            onnx_cache.cached_onnx(path, in_process=True)
    assert calls == [1]  # the second call read the remembered refusal
    monkeypatch.setattr(backend, "ONNX_MIN_PIXELS", 0)  # auto would pick onnxruntime
    opts = InferOptions(device="cpu", backend="auto", tile=64)
    result = run_to_end(infer(ArraySource(make_scene(64, 64).image), path, options=opts))
    assert result.backend == "torch-cpu" or result.backend.startswith("torch")
    assert any("no dice" in n for n in result.notices)


def test_a_truncated_model_file_is_refused_before_any_work(tmp_path: Path) -> None:
    model = build("small_unet", classes=3)
    path = save_model(tmp_path / "m.safetensors", model.module, model.meta)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelError, match="truncated"):
        infer(ArraySource(make_scene(64, 64).image), path, options=ONNX)


def test_the_cache_drops_least_recently_used_copies(tmp_path: Path) -> None:
    folder = tmp_path / "onnx"
    folder.mkdir()
    copies = []
    for i in range(4):
        copy = folder / f"{i}.onnx"
        copy.write_bytes(b"x" * 100)
        os.utime(copy, (1000 + i, 1000 + i))
        copies.append(copy)
    os.utime(copies[0], (2000, 2000))  # used most recently
    onnx_cache.prune(folder, keep=copies[1], limit=250)
    assert sorted(p.name for p in folder.iterdir()) == ["0.onnx", "1.onnx"]
