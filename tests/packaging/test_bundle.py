"""The desktop bundle builds and starts (slow: minutes of PyInstaller; run with --byhand).

uv run --group bundle pytest tests/packaging/test_bundle.py --byhand -q
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.byhand
@pytest.mark.timeout(3600)
def test_linux_bundle_builds_and_starts_offscreen_on_the_sample() -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is in the bundle group: uv run --group bundle pytest ...")
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build_bundle.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout[done.stdout.index("{") :])
    folder = ROOT / "dist" / "tessera"
    assert (folder / "tessera").is_file()
    # no PyTorch, so none of its CUDA libraries
    assert not list(folder.rglob("libtorch*")) and not list(folder.rglob("libcudnn*"))
    assert list(folder.rglob("onnx/*.onnx"))  # the sample model's shipped ONNX copy
    assert len(report["first_frame_s"]) == 3  # three offscreen starts to the first frame
    assert report["size_mb"] < 2000
