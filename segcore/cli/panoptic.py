"""``tessera panoptic``: stuff from a semantic model, things from an instance model.

Runs both models over the image (tile by tile), fuses their predictions by
Panoptic FPN's rules (:mod:`segcore.engine.fusion`) and writes, in the output
folder: ``semantic.tif`` (the semantic model's class map), ``instances.tif``
and ``objects.csv`` (the instance model's objects), and the fused result as
COCO panoptic (``panoptic.json`` + ``panoptic/<image>.png``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segcore.cli.progress import run_job
from segcore.errors import InferenceError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "panoptic",
        help="fuse a semantic and an instance model's predictions",
        description="Run a semantic model (stuff classes) and an instance model (thing "
        "classes) over an image and write their Panoptic FPN fusion as COCO panoptic. "
        "The instance model's object classes must be thing classes of the semantic "
        "model, by name.",
    )
    p.add_argument("image", type=Path, help="input image")
    p.add_argument("--semantic-model", required=True, type=Path, help="semantic model file")
    p.add_argument("--instance-model", required=True, type=Path, help="instance model file")
    p.add_argument("-o", "--output", required=True, type=Path, help="output folder")
    p.add_argument("--score", type=float, default=0.5, help="drop objects scoring below this")
    p.add_argument(
        "--min-stuff-area", type=int, default=4096, help="stuff regions smaller become void"
    )
    p.add_argument("--tile", type=int, help="tile side in pixels (default: from the models)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def run(args: argparse.Namespace) -> int:
    from segcore.engine import InferOptions, infer
    from segcore.engine.backend import open_model
    from segcore.engine.fusion import FusedLabels, FusionRules, class_lut, stuff_areas
    from segcore.engine.instances import InstanceOutputs, check_instance_model, infer_instances
    from segcore.formats.base import ExportItem
    from segcore.formats.exporter import export
    from segcore.formats.maskfile import mask_labels

    semantic_meta = open_model(args.semantic_model).meta
    instance_meta = open_model(args.instance_model).meta
    if semantic_meta.task != "semantic":
        raise InferenceError(f"{args.semantic_model} is not a semantic model; give one for stuff")
    check_instance_model(instance_meta, str(args.instance_model))
    lut = class_lut(semantic_meta.classes, instance_meta.classes)
    out: Path = args.output
    if out.exists() and any(out.iterdir()):
        raise InferenceError(f"{out}: the folder is not empty; give a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    options = InferOptions(tile=args.tile, device=args.device)
    run_job(
        infer(args.image, args.semantic_model, out / "semantic.tif", options=options),
        "semantic model",
    )
    outs = InstanceOutputs(
        instances=out / "instances.tif",
        classes=out / "instance_classes.tif",
        table=out / "objects.csv",
    )
    found = run_job(
        infer_instances(args.image, args.instance_model, outs, options=options), "instance model"
    )
    from segcore.cli.evaluate import object_scores

    scores = object_scores(str(out / "objects.csv"))
    semantic = mask_labels(out / "semantic.tif", semantic_meta.classes)
    objects = mask_labels(
        out / "instance_classes.tif", instance_meta.classes, instances_path=out / "instances.tif"
    )
    try:
        rules = FusionRules(score=args.score, min_stuff_area=args.min_stuff_area)
        fused = FusedLabels(
            semantic, objects, classes=semantic_meta.classes, lut=lut, scores=scores, rules=rules
        )
        fused = fused.keeping(run_job(stuff_areas(fused), "stuff areas"))
        item = ExportItem(Path(args.image).stem, fused, image_file=Path(args.image).name)
        written = run_job(export([item], "coco-panoptic", out), "COCO panoptic")
    finally:
        semantic.close()
        objects.close()
    kept = sum(1 for s in scores.values() if s >= args.score)
    print(
        f"{kept} of {found.objects} objects kept (score >= {args.score}); wrote "
        f"{', '.join(str(p) for p in written)}",
        file=sys.stderr,
    )
    return 0
