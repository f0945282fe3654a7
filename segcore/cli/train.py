"""``tessera train``: train or fine-tune a model on a project or on folders of masks.

Examples::

    tessera train --project my-project --arch small_unet --epochs 30 -o cells.safetensors
    tessera train --images imgs/ --masks masks/ --minutes 10 --tile 256 -o m.safetensors
    tessera train --project my-project --from cells.safetensors --epochs 10 -o cells2.safetensors
    tessera train --project my-project --arch pixel-classifier -o fields.onnx
    torchrun --nproc-per-node 4 -m app.launcher train --project p --epochs 50 -o m.safetensors

A progress bar goes to stderr; the final metrics go to stdout.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segcore.cli.progress import run_job
from segcore.errors import TrainingError
from segcore.jobs import Progress

DEFAULTS = {"arch": "small_unet", "tile": 256, "batch": 8, "lr": 1e-3, "loss": "ce+dice"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train or fine-tune a model on labels",
        description="Train a new model, or fine-tune one (--from), on a project's labels or "
        "on folders of images and masks (class maps: 0..254, 255 = unlabelled). Under "
        "torchrun it trains with DistributedDataParallel.",
    )
    src = p.add_argument_group("data (a project, or folders of images and masks)")
    src.add_argument("--project", type=Path, help="project folder")
    src.add_argument("--images", type=Path, help="folder of images")
    src.add_argument("--masks", type=Path, help="folder of masks named like the images")
    src.add_argument("--classes", help="comma-separated class names for mask ids 0, 1, ...")
    src.add_argument(
        "--binary-255",
        action="store_true",
        help="masks are 0/255 binary masks: read 255 as class 1 (default: 255 = unlabelled)",
    )
    m = p.add_argument_group("model")
    m.add_argument(
        "--arch",
        default=DEFAULTS["arch"],
        help="architecture (tessera models list), or pixel-classifier: a random forest on "
        "filter features, trained in seconds",
    )
    m.add_argument("--encoder", help="encoder of an smp architecture, e.g. resnet18")
    m.add_argument(
        "--pretrained",
        action="store_true",
        help="start the encoder from ImageNet weights (from the torch hub cache; offline, "
        "the message names the file to fetch)",
    )
    m.add_argument("--from", dest="start", type=Path, help="fine-tune this model file")
    m.add_argument("-o", "--output", type=Path, required=True, help="model file to write")
    m.add_argument(
        "--no-onnx-copy",
        action="store_true",
        help="skip making the ONNX copy that CPU runs use (then the first run makes it, ~10 s)",
    )
    b = p.add_argument_group("budget")
    budget = b.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, help="number of epochs (default 20)")
    budget.add_argument("--minutes", type=float, help="stop after this many minutes")
    o = p.add_argument_group("options")
    o.add_argument("--tile", type=int, default=DEFAULTS["tile"], help="tile side in pixels")
    o.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="tiles per step")
    o.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="peak learning rate")
    o.add_argument("--loss", default=DEFAULTS["loss"], help="e.g. ce, focal, ce+dice")
    o.add_argument(
        "--no-class-weights",
        dest="class_weights",
        action="store_false",
        help="do not weigh ce/focal by label frequency (default: rare classes weigh more)",
    )
    o.add_argument("--schedule", choices=("poly", "onecycle"), default="poly")
    o.add_argument("--patience", type=int, default=10, help="early stop after N flat epochs")
    o.add_argument("--val-fraction", type=float, default=0.2, help="share of regions held out")
    o.add_argument("--tiles-per-epoch", type=int, help="tiles drawn per epoch")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--device", default="auto", help="auto, cpu or cuda")
    o.add_argument("--threads", type=int, help="CPU threads for torch")
    o.add_argument("--workers", type=int, default=0, help="data loading processes")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    from segcore.cli import train_pixel

    train_pixel.add_options(p)


def check_paths(args: argparse.Namespace) -> None:
    """Before reading any data: the model file never onto an input, its folder writable."""
    from segcore.files import check_outputs

    inputs = [
        (what, path)
        for what, path in (
            ("--from", args.start),
            ("--project", args.project),
            ("--images", args.images),
            ("--masks", args.masks),
        )
        if path is not None
    ]
    outputs: list[tuple[str, str | Path]] = [("-o", args.output)]
    if Path(args.output).suffix.lower() == ".onnx":  # a pixel classifier has a sidecar
        outputs.append(("the model's sidecar", Path(args.output).with_suffix(".json")))
    check_outputs(outputs, inputs)


def run(args: argparse.Namespace) -> int:
    from segcore.pixelclass import ARCH

    check_paths(args)
    if args.arch == ARCH:
        return _run_pixel(args)
    from segcore.models.registry import get

    if get(args.arch).task == "instance":
        from segcore.cli.train_instances import run_instances

        return run_instances(args, _config(args))
    from segcore.training import ddp
    from segcore.training.loop import train
    from segcore.training.report import summary_lines

    config = _config(args)
    data, project = _data(args)
    main = ddp.from_env().is_main
    try:
        job = train(config, data=data, model=args.start)
        quiet = not main or args.quiet
        result = run_job(job, "tessera train", detail=_epochs(), quiet=quiet)
    finally:
        data.close()
        if project is not None:
            project.close(save=False)
    if main:
        for line in summary_lines(result):
            print(line)
        print(f"saved {args.output}")
    return 0


def _config(args: argparse.Namespace) -> Any:
    from segcore.training.config import TrainConfig

    return TrainConfig(
        arch=args.arch,
        encoder=args.encoder,
        pretrained=args.pretrained,
        epochs=args.epochs if args.epochs is not None else (None if args.minutes else 20),
        minutes=args.minutes,
        tile=args.tile,
        batch=args.batch,
        tiles_per_epoch=args.tiles_per_epoch,
        lr=args.lr,
        loss=args.loss,
        class_weights=args.class_weights,
        schedule=args.schedule,
        patience=args.patience,
        val_fraction=args.val_fraction,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        workers=args.workers,
        output=args.output,
        onnx_copy=not args.no_onnx_copy,
    )


def _run_pixel(args: argparse.Namespace) -> int:
    from segcore.cli import train_pixel

    train_pixel.config_from(args)  # refuse bad options before reading any data
    data, project = _data(args)
    try:
        return train_pixel.run(args, data)
    finally:
        data.close()
        if project is not None:
            project.close(save=False)


def _data(args: argparse.Namespace) -> tuple[Any, Any]:
    """The training data, and the project to close afterwards (None for folders)."""
    from segcore.training.data import data_from_folders, data_from_project

    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    if args.project is not None:
        if args.images or args.masks:
            raise TrainingError("give either --project or --images with --masks, not both")
        from segcore.cli.project import open_project

        project = open_project(args.project, "train")
        try:
            return data_from_project(project, read_only=False), project
        except BaseException:
            project.close(save=False)
            raise
    if args.images is None or args.masks is None:
        raise TrainingError("give --project DIR, or --images DIR with --masks DIR")
    data = data_from_folders(args.images, args.masks, classes=classes, binary_255=args.binary_255)
    return data, None


def _epochs() -> Callable[[Progress], str]:
    """Epoch, loss, last validation mIoU and rate of each training step."""
    last_val: list[float] = []

    def detail(step: Progress) -> str:
        metrics = step.payload
        if metrics is None:
            return step.message
        if metrics.val_miou is not None:
            last_val[:] = [metrics.val_miou]
        text = f"epoch {metrics.epoch}"
        if metrics.train_loss is not None:
            text += f" loss {metrics.train_loss:.4f}"
        if last_val:
            text += f" val mIoU {last_val[0]:.3f}"
        if step.rate:
            text += f" {step.rate:.1f} tiles/s"
        return text

    return detail
