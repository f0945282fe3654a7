"""Build the self-contained desktop bundle: PyInstaller, one folder, no PyTorch.

    uv run --group bundle python packaging/build_bundle.py            # dist/tessera/
    uv run --group bundle python packaging/build_bundle.py --check    # and start it

The same command builds on Linux, Windows and macOS (PyInstaller builds for the
system it runs on; there is no cross-building): ``dist/tessera/tessera``
(``tessera.exe`` on Windows; on macOS also ``dist/Tessera.app``). Steps:

1. export the bundled sample model's ONNX copy (this needs the development
   environment's PyTorch, once) into ``build/bundle/onnx/``, named by the
   model file's content as ``segcore.models.onnx_cache`` names copies; the
   frozen app finds it there (``onnx_cache.shipped_dir``);
2. run PyInstaller on ``packaging/bundle_entry.py`` (the ``tessera`` command)
   with every ``app`` and ``segcore`` module (subcommands and formats are
   imported by name), ``resources/``, the ONNX copy, the package metadata that
   plugins are found by (pydicom's JPEG decoders, zarr's codecs), and without
   PyTorch and what only it needs (torchvision, segmentation-models-pytorch,
   timm, onnxscript): CPU inference runs in onnxruntime;
3. with ``--check``: ``tessera info`` and ``tessera infer`` on the sample from
   the bundle (headless), then the app offscreen until its first painted
   frame; prints the bundle's size and the times.

What the bundle cannot do (no PyTorch): training and fine-tuning, creating or
exporting models, and running a ``.safetensors`` model it has no ONNX copy of
(open the model's ``.onnx`` export instead). Viewing, annotating, projects,
the pixel classifier, exports and imports, and inference through onnxruntime
all work. See decision 0012.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bundle"
DIST = ROOT / "dist"
NAME = "tessera"
SAMPLE_IMAGE = ROOT / "resources" / "sample" / "nuclei.tif"
SAMPLE_MODEL = ROOT / "resources" / "sample" / "nuclei_small_unet.safetensors"
PROBE = ROOT / "bench" / "launch_probe" / "sitecustomize.py"
# Only PyTorch needs these; leaving them out is what keeps CUDA's libraries out.
EXCLUDE = (
    "torch", "torchvision", "segmentation_models_pytorch", "timm", "onnxscript",
    "triton", "nvidia", "monai", "sympy", "networkx", "tkinter", "matplotlib",
    "IPython", "pytest", "hypothesis", "mypy", "PyInstaller",
)  # fmt: skip
# Packages found through their metadata (entry points, versions) at run time.
METADATA = (
    "pydicom", "pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "zarr", "numcodecs",
    "imagecodecs", "tessera", "onnxruntime", "rasterio", "scikit-image",
)  # fmt: skip
# Packages whose data files (GDAL and PROJ data, OpenSlide's library) must come along.
DATA = ("rasterio", "pyogrio", "openslide_bin", "skimage", "pycocotools", "shapely")


def export_sample_onnx() -> Path:
    """The sample model's ONNX copy under build/bundle/onnx (exported if not yet there)."""
    from segcore.models import onnx_cache

    folder = BUILD / "onnx"
    key = onnx_cache.model_key(SAMPLE_MODEL)
    target = folder / f"{key}.onnx"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as cache:
            os.environ["TESSERA_CACHE_DIR"] = cache
            made = onnx_cache.cached_onnx(SAMPLE_MODEL, in_process=True)
            shutil.copyfile(made, target)
            os.environ.pop("TESSERA_CACHE_DIR")
    return target


def pyinstaller_args(onnx: Path) -> list[str]:
    sep = os.pathsep  # PyInstaller's --add-data separator is the platform's path separator
    args = [
        str(ROOT / "packaging" / "bundle_entry.py"),
        "--name", NAME, "--onedir", "--noconfirm", "--clean",
        "--distpath", str(DIST), "--workpath", str(BUILD / "work"), "--specpath", str(BUILD),
        "--collect-submodules", "app", "--collect-submodules", "segcore",
        "--add-data", f"{ROOT / 'resources'}{sep}resources",
        "--add-data", f"{onnx.parent}{sep}onnx",
        "--runtime-hook", str(PROBE),
    ]  # fmt: skip
    if sys.platform == "darwin":
        args += ["--windowed", "--osx-bundle-identifier", "org.tessera.app"]
    for name in EXCLUDE:
        args += ["--exclude-module", name]
    for name in METADATA:
        args += ["--copy-metadata", name]
    for name in DATA:
        args += ["--collect-data", name]
    args += ["--collect-binaries", "openslide_bin", "--collect-submodules", "imagecodecs"]
    return args


def build() -> Path:
    import PyInstaller.__main__

    onnx = export_sample_onnx()
    start = time.perf_counter()
    PyInstaller.__main__.run(pyinstaller_args(onnx))
    folder = DIST / NAME
    print(f"built {folder} in {time.perf_counter() - start:.0f} s")
    return folder


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def check(folder: Path) -> dict[str, object]:
    """Run the bundle headless and offscreen; raises CalledProcessError on a failure."""
    exe = folder / (NAME + (".exe" if sys.platform == "win32" else ""))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TESSERA_PROBE_FIRST_FRAME": "1"}
    env.pop("PYTHONPATH", None)
    out: dict[str, object] = {"bytes": folder_bytes(folder)}
    with tempfile.TemporaryDirectory() as tmp:
        env["TESSERA_CACHE_DIR"] = str(Path(tmp) / "cache")
        env["TESSERA_SETTINGS"] = str(Path(tmp) / "settings.ini")
        start = time.perf_counter()
        info = subprocess.run(
            [str(exe), "info", str(SAMPLE_IMAGE)], env=env, capture_output=True, text=True
        )
        out["info_s"] = round(time.perf_counter() - start, 2)
        if info.returncode != 0:
            raise SystemExit(f"tessera info failed: {info.stderr.strip()}")
        assert json.loads(info.stdout)["width"] == 512
        classes = Path(tmp) / "classes.tif"
        start = time.perf_counter()
        infer = subprocess.run(
            [str(exe), "infer", str(SAMPLE_IMAGE), "-m", str(SAMPLE_MODEL), "-o", str(classes)],
            env=env,
            capture_output=True,
            text=True,
        )
        out["infer_s"] = round(time.perf_counter() - start, 2)
        if infer.returncode != 0 or not classes.is_file():
            raise SystemExit(f"tessera infer failed: {infer.stderr.strip()[-400:]}")
        out["infer_said"] = infer.stderr.strip().splitlines()[-1:]
        times = []
        for _ in range(3):
            start = time.perf_counter()
            app = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=120)
            times.append(round(time.perf_counter() - start, 2))
            if app.returncode != 0:
                raise SystemExit(f"the app failed to start: {app.stderr.strip()[-400:]}")
        out["first_frame_s"] = times
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="also run the bundle")
    parser.add_argument("--no-build", action="store_true", help="only check dist/tessera")
    args = parser.parse_args()
    folder = DIST / NAME if args.no_build else build()
    if args.check or args.no_build:
        result = check(folder)
        size = int(result["bytes"]) / 2**20  # type: ignore[call-overload]
        print(json.dumps({**result, "size_mb": round(size)}, indent=2))


if __name__ == "__main__":
    main()
