"""``tessera models``: list, new, info, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segcore.cli import main
from segcore.models import read_meta


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "blended" in lines["pspnet"] and "smp" in lines["pspnet"]
    assert "exact*" in lines["small_unet"] and "tessera" in lines["small_unet"]
    assert "efficientnet-b0" in lines["unet"]


def test_new_info_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_ONNX_ON_WRITE", "1")  # the copy made with the file
    model = tmp_path / "cells.safetensors"
    args = ["models", "new", "--arch", "small_unet", "--classes", "background,cell"]
    assert main([*args, "--in-channels", "1", "--tile", "128", "-o", str(model)]) == 0
    assert "exact tiling" in capsys.readouterr().out
    meta = read_meta(model)
    assert [c.name for c in meta.classes] == ["background", "cell"] and meta.tile_size == 128
    # the ONNX copy CPU runs use is made with the file, so no run pays for the export
    from segcore.models.onnx_cache import model_key, onnx_dir

    assert (onnx_dir() / f"{model_key(model)}.onnx").is_file()

    assert main(["models", "info", str(model)]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "small_unet"

    onnx = tmp_path / "cells.onnx"
    assert main(["models", "export", str(model), "--format", "onnx", "-o", str(onnx)]) == 0
    assert onnx.is_file() and (tmp_path / "cells.json").is_file()


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "m.safetensors")
    args = ["models", "new", "--arch", "smallunet", "--classes", "2", "--in-channels", "1"]
    assert main([*args, "-o", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean small_unet" in err
    assert main(["models", "info", str(tmp_path / "missing.safetensors")]) == 2
    assert "no such model file" in capsys.readouterr().err
    bad = ["models", "new", "--arch", "unet", "--classes", "a,,b", "--in-channels", "1"]
    assert main([*bad, "-o", out]) == 2
    assert "comma-separated" in capsys.readouterr().err
