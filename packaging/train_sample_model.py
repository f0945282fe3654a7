"""Reproduce the bundled sample model: a small U-Net that finds nuclei.

Trains ``small_unet`` on the LEFT half of the bundled nuclei image (ground truth from
the same registry package), then reports foreground IoU on the RIGHT half, which it
never saw, and writes ``resources/sample/nuclei_small_unet.safetensors``.

    uv run python packaging/train_sample_model.py [--epochs 30] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "resources" / "sample"
CLASSES = ("background", "nucleus")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=SAMPLE / "nuclei_small_unet.safetensors")
    args = parser.parse_args(argv)

    from segcore.labels.schema import ClassInfo
    from segcore.models import load_model
    from segcore.sampledata import fetch
    from segcore.training.arrays import train_on_arrays
    from segcore.training.validation import predict_classes

    image = tifffile.imread(SAMPLE / "nuclei.tif")
    truth = (tifffile.imread(fetch("nuclei_mask")) > 0).astype(np.uint8)
    half = image.shape[1] // 2
    classes = [
        ClassInfo(0, CLASSES[0], (40, 40, 40)),
        ClassInfo(1, CLASSES[1], (255, 80, 200), thing=True),
    ]
    started = time.monotonic()
    result = train_on_arrays(
        image[:, :half],
        truth[:, :half],
        classes=classes,
        arch="small_unet",
        output=args.out,
        epochs=args.epochs,
        tile=128,
        batch=8,
        seed=args.seed,
        on_progress=lambda p: print(f"\r{p.message:<70}", end="", file=sys.stderr),
    )
    seconds = time.monotonic() - started
    print(file=sys.stderr)

    loaded = load_model(args.out)
    predicted = predict_classes(loaded.module, loaded.meta, image[:, half:, None])
    right = truth[:, half:]
    inter = np.logical_and(predicted == 1, right == 1).sum()
    union = np.logical_or(predicted == 1, right == 1).sum()
    print(f"trained {seconds:.0f} s, best validation mIoU {result.best_miou:.3f}")
    print(f"foreground IoU on the unseen right half: {inter / union:.3f}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
