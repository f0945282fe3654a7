"""Benchmark overlap-tile inference: Tessera vs MONAI vs one whole-image pass.

Run by hand (MONAI is in the ``bench`` dependency group)::

    uv run --group bench python bench/infer_bench.py --compare 2048 --rss 8192 --scale 4096,16384

Every variant runs in its own subprocess so its peak RSS is its own:

* ``whole``: one forward pass over the whole (mirror-padded) image, PyTorch eager;
* ``monai``: ``monai.inferers.sliding_window_inference`` (roi 512, overlap 0.25,
  Gaussian, sw_batch_size 4) over the whole image tensor, PyTorch eager;
* ``tessera``: ``segcore.engine.infer`` with its defaults, writing a GeoTIFF class map.

The model is an smp U-Net (resnet18 encoder, 10 classes, random init). The
image is a synthetic 3-band uint8 GeoTIFF (``segcore.synthetic``). Results are
printed as a Markdown table; copy them into ``docs/bench/infer.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(os.environ.get("TESSERA_BENCH_DIR", "/tmp/tessera-infer-bench"))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- setup


def make_model(path: Path, probe_size: int) -> None:
    """smp U-Net resnet18, 10 classes, random init; receptive field from the probe."""
    import torch

    from segcore.labels.schema import make_classes
    from segcore.models import build_model, probe_model, save_model
    from segcore.models.meta import ModelMeta, Normalization

    torch.manual_seed(0)
    module = build_model("unet", num_classes=10, in_channels=3, encoder="resnet18").eval()
    probe = probe_model(module, in_channels=3, output_stride=32, max_size=probe_size)
    print(f"probe: {probe.reason} ({probe.seconds:.0f} s)", file=sys.stderr)
    meta = ModelMeta(
        arch="unet",
        config={"encoder": "resnet18"},
        in_channels=3,
        classes=tuple(make_classes([f"class_{i}" for i in range(10)])),
        normalization=Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 255.0),
        tile_size=512,
        output_stride=32,
        receptive_field=probe.receptive_field,
        exact=probe.exact,
        extra={"probe": {"tolerance": probe.tolerance, "reason": probe.reason}},
    )
    save_model(path, module, meta)


def make_image(size: int) -> Path:
    from segcore.synthetic import write_geotiff

    path = ROOT / f"scene-{size}.tif"
    if not path.exists():
        t = time.monotonic()
        write_geotiff(path.with_suffix(".tmp.tif"), size, size)
        path.with_suffix(".tmp.tif").rename(path)
        print(f"wrote {path} in {time.monotonic() - t:.0f} s", file=sys.stderr)
    return path


# ---------------------------------------------------------------- children


def _normalised(image_path: Path, meta: Any) -> Any:
    """The whole image as a normalised float32 (1, 3, H, W) tensor (what MONAI needs)."""
    import rasterio
    import torch

    with rasterio.open(image_path) as ds:
        pixels = ds.read().astype(np.float32)
    norm = meta.normalization
    mean = np.asarray(norm.mean, np.float32)[:, None, None]
    std = np.asarray(norm.std, np.float32)[:, None, None]
    pixels /= norm.scale
    pixels -= mean
    pixels /= std
    return torch.from_numpy(pixels)[None]


def child(
    variant: str, image: Path, model_path: Path, save: Path | None, tile: int | None
) -> dict[str, Any]:
    logits: np.ndarray | None = None
    info: dict[str, Any] = {}
    if variant.startswith("tessera"):  # the model file, as `tessera infer` and the app pass it
        start = time.monotonic()
        info = _tessera(variant, image, model_path, tile)
        logits = info.pop("logits")
        seconds = time.monotonic() - start
        if save is not None and logits is not None:
            np.save(save, logits.astype(np.float32))
        return {"variant": variant, "seconds": seconds, "rss_mb": peak_rss_mb(), **info}
    import torch

    from segcore.models import load_model

    loaded = load_model(model_path)
    start = time.monotonic()
    if variant == "whole":
        x = _normalised(image, loaded.meta)
        h, w = x.shape[-2:]
        ph, pw = -h % 32, -w % 32
        if ph or pw:
            x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
        with torch.inference_mode():
            logits = loaded.module(x)[0, :, :h, :w].numpy()
    elif variant == "monai":
        from monai.inferers import sliding_window_inference

        x = _normalised(image, loaded.meta)
        with torch.inference_mode():
            out = sliding_window_inference(
                x,
                roi_size=(512, 512),
                sw_batch_size=4,
                predictor=loaded.module,
                overlap=0.25,
                mode="gaussian",
            )
        logits = out[0].numpy()  # type: ignore[index]
    else:
        raise SystemExit(f"unknown variant {variant}")
    seconds = time.monotonic() - start
    if save is not None and logits is not None:
        np.save(save, logits.astype(np.float32))
    return {"variant": variant, "seconds": seconds, "rss_mb": peak_rss_mb(), **info}


def _tessera(variant: str, image: Path, model_path: Path, tile: int | None) -> dict[str, Any]:
    from segcore.engine import InferOptions, infer
    from segcore.jobs import run_to_end

    if variant == "tessera":
        out_path = ROOT / f"classes-{image.stem}.tif"
        result = run_to_end(infer(image, model_path, out_path, options=InferOptions(tile=tile)))
    else:
        opts = InferOptions(logits=True, tile=tile)
        result = run_to_end(infer(image, model_path, options=opts))
    return {
        "logits": result.logits,
        "mode": result.mode,
        "tile": result.tile,
        "halo": result.halo,
        "tiles": result.tiles,
        "backend": result.backend,
        "torch_imported": "torch" in sys.modules,
    }


WARM = """
import resource, sys
from segcore.models.onnx_cache import cached_onnx
cached_onnx(sys.argv[1], in_process=True)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def warm_onnx_copy(model: Path) -> None:
    """Export the model's ONNX copy once, outside the timed runs (as a first run would)."""
    from segcore.models.onnx_cache import model_key, onnx_dir

    if (onnx_dir() / f"{model_key(model)}.onnx").is_file():
        return
    start = time.monotonic()
    cmd = [sys.executable, "-c", WARM, str(model)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.monotonic() - start
    rss = done.stdout.strip()
    print(f"ONNX copy exported in {seconds:.0f} s (that process: {rss} MB)", file=sys.stderr)


RESULTS = ROOT / "results.json"  # finished runs, reused unless --fresh


def spawn(
    variant: str, image: Path, model: Path, save: Path | None = None, tile: int | None = None
) -> dict[str, Any]:
    """Run one variant in a fresh process (once per variant and image)."""
    key = f"{variant}{f'-{tile}' if tile else ''}@{image.name}"
    done_runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if key in done_runs and (save is None or save.exists()):
        return dict(done_runs[key])
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--image",
        str(image),
        "--model",
        str(model),
    ]
    if save is not None:
        cmd += ["--save", str(save)]
    if tile is not None:
        cmd += ["--tile", str(tile)]
    print("running", " ".join(cmd[2:]), file=sys.stderr, flush=True)
    env = {**os.environ, "GDAL_CACHEMAX": "64"}  # as `tessera infer` sets it
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    side = int(image.stem.split("-")[-1])
    result["size"] = side
    result["mpx_s"] = side * side / 1e6 / result["seconds"]
    print(json.dumps(result), file=sys.stderr, flush=True)
    done_runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    done_runs[key] = result
    RESULTS.write_text(json.dumps(done_runs, indent=1))
    return result


def deviation(a: Path, b: Path) -> tuple[float, float]:
    """Max |logit difference| and the fraction of pixels whose class differs."""
    x, y = np.load(a, mmap_mode="r"), np.load(b, mmap_mode="r")
    worst, differ = 0.0, 0
    for r in range(0, x.shape[1], 256):  # row bands, so the comparison stays small
        xa, ya = np.asarray(x[:, r : r + 256]), np.asarray(y[:, r : r + 256])
        worst = max(worst, float(np.abs(xa - ya).max()))
        differ += int((xa.argmax(0) != ya.argmax(0)).sum())
    return worst, differ / (x.shape[1] * x.shape[2])


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child")
    parser.add_argument("--image", type=Path)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--tile", type=int)
    parser.add_argument("--compare", type=int, default=2048, help="size for the 3-way comparison")
    parser.add_argument("--rss", type=int, default=8192, help="size for Tessera vs MONAI RSS")
    parser.add_argument("--scale", default="4096,16384", help="sizes for Tessera's RSS scaling")
    parser.add_argument("--probe-size", type=int, default=1024)
    parser.add_argument("--fresh", action="store_true", help="forget earlier runs")
    parser.add_argument("--lean-tile", type=int, default=0, help="also run this tile size (0: no)")
    parser.add_argument("--only", default="compare,rss,scale")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.image, args.model, args.save, args.tile)))
        return
    ROOT.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        RESULTS.unlink(missing_ok=True)
    model = ROOT / "unet-resnet18.safetensors"
    if not model.exists():
        make_model(model, args.probe_size)
    warm_onnx_copy(model)
    rows: list[str] = []
    if "compare" in args.only:
        image = make_image(args.compare)
        whole = spawn("whole", image, model, ROOT / "whole.npy")
        monai = spawn("monai", image, model, ROOT / "monai.npy")
        tess = spawn("tessera", image, model)
        spawn("tessera-logits", image, model, ROOT / "tessera.npy")
        dev_m, diff_m = deviation(ROOT / "monai.npy", ROOT / "whole.npy")
        dev_t, diff_t = deviation(ROOT / "tessera.npy", ROOT / "whole.npy")
        rows.append(f"\n### {args.compare} x {args.compare}, one run\n")
        rows.append(
            "| variant | Mpx/s | peak RSS (MB) | max abs logit dev. | pixels with another class |"
        )
        rows.append("|---|---|---|---|---|")
        for r, dev, diff in ((whole, 0.0, 0.0), (monai, dev_m, diff_m), (tess, dev_t, diff_t)):
            name = r["variant"] + (
                f" ({r['mode']}, tile {r['tile']}, halo {r['halo']}, {r['backend']})"
                if "mode" in r
                else ""
            )
            rows.append(
                f"| {name} | {r['mpx_s']:.3f} | {r['rss_mb']:.0f} | {dev:.2e} | {diff:.2e} |"
            )
        rows.append(
            f"\nratios Tessera / MONAI: throughput {tess['mpx_s'] / monai['mpx_s']:.2f}x, "
            f"peak RSS {tess['rss_mb'] / monai['rss_mb']:.2f}, "
            f"deviation {dev_t / max(dev_m, 1e-30):.2e}"
        )
    if "rss" in args.only:
        image = make_image(args.rss)
        monai = spawn("monai", image, model)
        tess = spawn("tessera", image, model)
        variants = [(monai, "monai"), (tess, f"tessera (tile {tess['tile']})")]
        if args.lean_tile:
            lean = spawn("tessera", image, model, tile=args.lean_tile)
            variants.append((lean, f"tessera --tile {args.lean_tile}"))
        rows.append(f"\n### {args.rss} x {args.rss}: Tessera vs MONAI\n")
        rows.append("| variant | seconds | Mpx/s | peak RSS (MB) |\n|---|---|---|---|")
        for r, name in variants:
            rows.append(f"| {name} | {r['seconds']:.0f} | {r['mpx_s']:.3f} | {r['rss_mb']:.0f} |")
        rows.append(
            f"\nratios Tessera / MONAI: throughput {tess['mpx_s'] / monai['mpx_s']:.2f}x, "
            f"peak RSS {tess['rss_mb'] / monai['rss_mb']:.2f}"
        )
    if "scale" in args.only:
        sizes = [int(s) for s in args.scale.split(",")]
        runs = [spawn("tessera", make_image(s), model) for s in sizes]
        rows.append("\n### Tessera peak RSS by image size\n")
        rows.append("| size | seconds | Mpx/s | peak RSS (MB) |\n|---|---|---|---|")
        for r in runs:
            rows.append(
                f"| {r['size']} | {r['seconds']:.0f} | {r['mpx_s']:.3f} | {r['rss_mb']:.0f} |"
            )
        rows.append(f"\nRSS {sizes[-1]} / {sizes[0]}: {runs[-1]['rss_mb'] / runs[0]['rss_mb']:.2f}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
