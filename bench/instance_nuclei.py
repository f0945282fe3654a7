"""Instance model on real nuclei: train on one half of stardist's img2d.tif, score the other.

    uv run python bench/instance_nuclei.py --minutes 5 [--arch instance_unet] [--out DIR]

Trains on the top half (rows 0-255; its bottom 20 % picks the best epoch), runs
the saved model through the tiled instance engine (``infer_instances``, tiles of
128 px, much smaller than the image) over the whole image, and scores the
bottom half (rows 256-511) against ``mask2d.tif``: F1 / precision / recall of
objects matched at IoU 0.5, COCO mask AP and AP50; also checks that the tiled
objects equal a single whole-image pass. Objects cut by the half line are kept
on both sides (the same for the prediction and the truth).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--arch", default="instance_unet")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", help="instance_unet widths, e.g. 8,16,32,64")
    parser.add_argument("--out", type=Path, default=Path("/tmp/tessera-bench-nuclei"))
    args = parser.parse_args()

    import tifffile
    import torch

    from segcore.engine import InferOptions
    from segcore.engine.instances import infer_instances
    from segcore.io.array import ArraySource
    from segcore.jobs import run_to_end
    from segcore.labels.adapters import ArrayLabels
    from segcore.labels.schema import ClassInfo
    from segcore.metrics.instance import coco_ap
    from segcore.metrics.matching import ObjectMatcher
    from segcore.sampledata import fetch
    from segcore.training.config import TrainConfig
    from segcore.training.instance_data import data_from_instance_arrays
    from segcore.training.instance_loop import train_instances

    torch.set_num_threads(args.threads)
    image = tifffile.imread(fetch("nuclei_image"))
    truth = tifffile.imread(fetch("nuclei_mask")).astype(np.uint32)
    half = image.shape[0] // 2
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / f"{args.arch}.safetensors"
    config = TrainConfig(
        arch=args.arch, epochs=args.epochs, minutes=None if args.epochs else args.minutes,
        tile=args.tile, batch=args.batch, lr=args.lr, schedule="onecycle", patience=None,
        val_fraction=0.2, seed=args.seed, device="cpu", threads=args.threads, output=model_path,
        arch_config={"channels": [int(c) for c in args.channels.split(",")]} if args.channels
        else {},
    )  # fmt: skip
    data = data_from_instance_arrays([image[:half]], [truth[:half]])
    t0, c0 = time.monotonic(), time.process_time()
    result = run_to_end(train_instances(config, data=data))
    train_s, train_cpu = time.monotonic() - t0, time.process_time() - c0

    opts = InferOptions(device="cpu", backend="torch", tile=args.tile * 2)
    t0 = time.monotonic()
    tiled = run_to_end(infer_instances(ArraySource(image), model_path, options=opts))
    infer_s = time.monotonic() - t0
    whole = run_to_end(infer_instances(ArraySource(image), model_path,
                                       options=InferOptions(device="cpu", tile=1024)))  # fmt: skip
    assert tiled.instances is not None and whole.instances is not None
    same = _same_objects(tiled.instances, whole.instances)

    pred, gt = tiled.instances[half:], truth[half:]
    matcher = ObjectMatcher(0.5)
    matcher.update(gt, pred)
    det = matcher.result()
    classes = (
        ClassInfo(0, "background", (0, 0, 0), False),
        ClassInfo(1, "nucleus", (255, 0, 0), True),
    )
    scores = {r.id: r.score for r in tiled.rows}
    gt_labels = ArrayLabels((gt > 0).astype(np.uint8), classes, gt)
    pred_labels = ArrayLabels((pred > 0).astype(np.uint8), classes, pred)
    ap = coco_ap([gt_labels], [pred_labels], scores=[scores])
    report = {
        "arch": args.arch, "channels": args.channels, "train_seconds": round(train_s, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "epochs": len(result.history),
        "best_epoch": result.best_epoch, "val_f1": round(result.best_f1, 4),
        "max_object": result.max_object, "tuned_val_f1": round(result.tuned_f1, 4),
        "grouping": result.grouping.to_json(), "notices": list(tiled.notices),
        "receptive_field": result.meta.receptive_field,
        "test_objects": int(len(np.unique(gt)) - 1), "predicted": int(len(np.unique(pred)) - 1),
        "f1": round(det.f1, 4), "precision": round(det.precision, 4),
        "recall": round(det.recall, 4), "mean_matched_iou": round(det.mean_iou, 4),
        "AP": round(ap.stats["AP"], 4), "AP50": round(ap.stats["AP50"], 4),
        "tiles": tiled.tiles, "tile": tiled.tile, "halo": tiled.halo,
        "infer_seconds": round(infer_s, 2), "tiled_equals_whole": same,
    }  # fmt: skip
    print(json.dumps(report, indent=1))


def _same_objects(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    inter = np.bincount(a.ravel().astype(np.int64) * nb + b.ravel(), minlength=na * nb)
    inter = inter.reshape(na, nb)
    union = inter.sum(1)[:, None] + inter.sum(0)[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)[1:, 1:]
    best = iou.max(1) if iou.size else np.zeros(0)
    return {"tiled": na - 1, "whole": nb - 1, "min_iou": round(float(best.min(initial=1.0)), 4)}


if __name__ == "__main__":
    main()
