"""``tessera train --arch instance_unet``: train an instance model from instance labels.

Data: a project (its label stores' instance layer; one thing class) or
``--images`` with ``--masks`` holding instance-id masks (0 = background, each
object its own id, as StarDist and cellpose write them).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from segcore.cli.progress import run_job
from segcore.errors import TrainingError

if TYPE_CHECKING:
    from segcore.labels.schema import ClassInfo
    from segcore.training.config import TrainConfig
    from segcore.training.data import TrainingData


def run_instances(args: argparse.Namespace, config: TrainConfig) -> int:
    from segcore.training.instance_loop import train_instances

    if args.start is not None:
        raise TrainingError(
            f"{args.start}: fine-tuning an instance model is not supported yet; "
            "train a new one (leave out --from)"
        )
    config.check()
    data, project, classes = _data(args)
    try:
        if not data.images:
            raise TrainingError(
                f"{args.project}: no image of the project is labelled; label objects as "
                "instances first"
            )
        job = train_instances(config, data=data, classes=classes)
        result = run_job(job, "tessera train", detail=lambda s: s.message, quiet=args.quiet)
    finally:
        data.close()
        if project is not None:
            project.close(save=False)
    last = result.history[-1] if result.history else {}
    print(
        f"best validation F1 at IoU 0.5: {result.best_f1:.3f} (epoch {result.best_epoch} of "
        f"{len(result.history)}, {result.stopped}); last train loss "
        f"{last.get('train_loss', float('nan')):.4f}; largest object {result.max_object} px"
        + ("" if result.held_out else "; validated on the training images (too small to split)")
    )
    print(f"saved {args.output}")
    return 0


def _data(args: argparse.Namespace) -> tuple[TrainingData, Any, tuple[ClassInfo, ...] | None]:
    from segcore.training.instance_data import data_from_instance_masks

    if args.project is not None:
        if args.images or args.masks:
            raise TrainingError("give either --project or --images with --masks, not both")
        from segcore.cli.project import open_project
        from segcore.training.data import data_from_project

        project = open_project(args.project, "train")
        try:
            classes = _object_classes(args.project, tuple(project.classes))
            return data_from_project(project, read_only=False), project, classes
        except BaseException:
            project.close(save=False)
            raise
    if args.images is None or args.masks is None:
        raise TrainingError("give --project DIR, or --images DIR with --masks DIR (instance ids)")
    return data_from_instance_masks(args.images, args.masks), None, None


def _object_classes(where: object, classes: tuple[ClassInfo, ...]) -> tuple[ClassInfo, ...]:
    """Background and the project's one thing class (the model's classes 0 and 1)."""
    from dataclasses import replace

    from segcore.labels.schema import ClassInfo, default_color

    things = [c for c in classes if c.thing]
    if len(things) != 1:
        names = ", ".join(c.name for c in things) or "none"
        raise TrainingError(
            f"{where}: an instance model trains on one thing class, the project has "
            f"{len(things)} ({names}); mark exactly one class as a thing"
        )
    return (ClassInfo(0, "background", default_color(0), False), replace(things[0], id=1))
