"""Training benchmark: throughput in tiles/s, and time to reach 0.9 mIoU on synthetic scenes.

Run by hand (not in CI)::

    uv run python bench/train_bench.py                      # CPU, all cores
    uv run python bench/train_bench.py --threads 2 --device cpu
    uv run python bench/train_bench.py --device cuda        # on a GPU machine

Throughput goes through the real training job (tile sampling, augmentation,
forward, backward, AdamW step; AMP on CUDA), timed after one warm-up epoch.
Time-to-quality trains ``small_unet`` on a 512 x 512 synthetic scene (the
quality test's set-up) with growing epoch budgets until the model scores
mIoU >= 0.9 on an unseen scene. Results go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from segcore.jobs import run_to_end
from segcore.synthetic import SCENE_CLASSES, make_scene
from segcore.training.config import TrainConfig, TrainMetrics
from segcore.training.data import data_from_arrays
from segcore.training.loop import train
from segcore.training.validation import confusion, mean_iou, predict_classes

MODELS = [("small_unet", None), ("unet", "resnet18")]


def throughput(arch: str, encoder: str | None, args: argparse.Namespace) -> tuple[float, float]:
    """Tiles per wall-clock second and per CPU second, after a warm-up epoch.

    Tiles per CPU second equals tiles/s on an otherwise idle machine with
    ``--threads 1``; it keeps the figure meaningful on a shared, loaded machine.
    """
    scene = make_scene(1024, 1024, seed=18)
    data = data_from_arrays([scene.image], [scene.semantic], classes=SCENE_CLASSES)
    config = TrainConfig(
        arch=arch,
        encoder=encoder,
        epochs=1 + args.epochs,
        tile=args.tile,
        batch=args.batch,
        tiles_per_epoch=args.batch * args.steps,
        threads=args.threads,
        device=args.device,
        patience=None,
        max_val_tiles=1,
    )
    started: float | None = None
    cpu = 0.0
    tiles = 0
    for step in train(config, data=data):
        metrics = step.payload
        if not isinstance(metrics, TrainMetrics) or metrics.phase != "train":
            continue
        if metrics.epoch == 1:
            continue
        if started is None:
            started, cpu = time.perf_counter(), time.process_time()
            continue
        tiles += args.batch
    assert started is not None
    return tiles / (time.perf_counter() - started), tiles / (time.process_time() - cpu)


def time_to_quality(args: argparse.Namespace, target: float = 0.9) -> list[str]:
    """Train with growing epoch budgets until the model reaches ``target`` on an unseen scene.

    Each budget is a full run (the learning rate decays over it). The score is
    the mIoU on a different synthetic scene (seed 35), not the validation
    blocks, which are few and noisy early on. Returns Markdown table rows.
    """
    scene = make_scene(512, 512, seed=18)
    test = make_scene(384, 384, seed=35)
    data = data_from_arrays([scene.image], [scene.semantic], classes=SCENE_CLASSES)
    rows = []
    for epochs in (5, 10, 15, 20):
        config = TrainConfig(
            epochs=epochs,
            tile=64,
            batch=8,
            lr=3e-3,
            threads=args.threads,
            device=args.device,
            patience=None,
        )
        start, cpu = time.perf_counter(), time.process_time()
        result = run_to_end(train(config, data=data))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        pred = predict_classes(result.module, result.meta, test.image, device=args.device)
        unseen = mean_iou(confusion(pred, test.semantic, 5))
        rows.append(
            f"| {epochs} | {result.best_miou:.3f} | {unseen:.3f} | {wall:.0f} | {cpu:.0f} |"
        )
        print(rows[-1], flush=True)
        if unseen >= target:
            break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs")
    args = parser.parse_args()
    threads = args.threads or torch.get_num_threads()
    device = args.device
    if device == "cuda":
        device = f"cuda ({torch.cuda.get_device_name(0)})"
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__}, device {device}, {threads} thread(s), "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print()
    print("| model | tile | batch | tiles/s | tiles per CPU second |")
    print("|---|---|---|---|---|")
    for arch, encoder in MODELS:
        rate, cpu_rate = throughput(arch, encoder, args)
        name = arch if encoder is None else f"{arch} ({encoder})"
        print(f"| {name} | {args.tile} | {args.batch} | {rate:.2f} | {cpu_rate:.2f} |", flush=True)
    print()
    print("small_unet, 512x512 synthetic scene, tile 64, batch 8: budgets until 0.9 mIoU")
    print()
    print("| epochs | validation mIoU | unseen-scene mIoU | wall s | CPU s |")
    print("|---|---|---|---|---|", flush=True)
    time_to_quality(args)


if __name__ == "__main__":
    main()
