"""``tessera eval --pred P --gt G``: per-class IoU, Dice, precision and recall.

With instance masks it adds panoptic quality, COCO mask AP (scored by the
prediction's object table, ``--pred-objects``, when given) and precision /
recall / F1 of objects matched at IoU 0.5. NIfTI label volumes (``.nii``,
``.nii.gz``) get Dice, IoU, per-slice Dice and HD95 in mm
(:mod:`segcore.cli.evaluate_volume`).

Masks are read window by window (:mod:`segcore.formats.maskfile`), so masks
of any size are compared in bounded memory (PNG masks are decoded whole).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segcore.cli.progress import run_job
from segcore.errors import FormatError

if TYPE_CHECKING:
    from segcore.labels.reader import LabelReader


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "eval",
        help="compare a prediction with ground truth",
        description="Compare a predicted class mask with a ground-truth mask: per-class IoU, "
        "Dice, precision and recall, mIoU and accuracies. With instance masks, also "
        "panoptic quality and COCO mask AP.",
    )
    parser.add_argument("--pred", required=True, help="predicted class mask (PNG/TIFF/.npy)")
    parser.add_argument("--gt", required=True, help="ground-truth class mask")
    parser.add_argument(
        "--ignore", type=int, default=255, help="ground-truth value left out (default 255)"
    )
    parser.add_argument(
        "--classes",
        help="class names in id order, comma-separated, or a classes.json file",
    )
    parser.add_argument("--pred-instances", help="predicted instance-id mask (for PQ and AP)")
    parser.add_argument("--gt-instances", help="ground-truth instance-id mask (for PQ and AP)")
    parser.add_argument(
        "--things", help="comma-separated class ids that have instances (default: from classes)"
    )
    parser.add_argument(
        "--pred-objects",
        help="the prediction's object table (CSV from tessera infer): scores for AP",
    )
    parser.add_argument("--json", help="write all scores to this JSON file")
    parser.add_argument("--window", type=positive_int, default=2048, help="window size in pixels")


def class_names(spec: str | None) -> list[str] | None:
    """Names from ``a,b,c`` or from a ``classes.json`` file.

    A spec that looks like a file (ends in ``.json`` or holds a path separator)
    is read as one, never taken as a class name.
    """
    if not spec:
        return None
    path = Path(spec)
    if path.suffix.lower() == ".json" or os.sep in spec or (os.altsep or os.sep) in spec:
        from segcore.formats.problems import Problems, read_class_file

        if not path.is_file():
            raise FormatError(
                f"{path}: class file not found; give an existing classes.json "
                "or the names themselves (a,b,c)"
            )
        if path.name != "classes.json":
            raise FormatError(
                f"{path}: a class file is a classes.json written by tessera export; "
                "rename it so, or give the names themselves (a,b,c)"
            )
        problems = Problems()
        found = read_class_file(path.parent, problems)
        if problems.count:
            raise FormatError(f"{path}: the class file is not usable", problems.lines)
        return [c.name for c in sorted(found or [], key=lambda c: c.id)]
    return [n.strip() for n in spec.split(",")]


def class_ids(text: str, option: str) -> set[int]:
    """Class ids from ``1,3,4``; FormatError naming the option on anything else."""
    try:
        ids = {int(t) for t in text.split(",") if t.strip()}
    except ValueError:
        raise FormatError(f"{option} {text!r}: expected class ids like 1,3") from None
    if any(not 0 <= i < 255 for i in ids):
        raise FormatError(f"{option} {text!r}: class ids lie in 0..254")
    return ids


def positive_int(text: str) -> int:
    """An argparse type for a count or size that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def check_paths(args: argparse.Namespace) -> None:
    """Before any work: --json never onto an input, and its folder writable."""
    from segcore.files import check_outputs

    if not args.json:
        return
    inputs = [
        (what, path)
        for what, path in (
            ("--pred", args.pred),
            ("--gt", args.gt),
            ("--pred-instances", args.pred_instances),
            ("--gt-instances", args.gt_instances),
            ("--classes", args.classes),
        )
        if path
    ]
    check_outputs([("--json", args.json)], inputs)


def _fmt(v: float) -> str:
    return "    -" if math.isnan(v) else f"{v:6.4f}"


def run(args: argparse.Namespace) -> int:
    from segcore.formats.maskfile import mask_labels
    from segcore.metrics.compare import compare_semantic

    if bool(args.pred_instances) != bool(args.gt_instances):
        raise FormatError("give both --pred-instances and --gt-instances for PQ and AP")
    if args.things:
        class_ids(args.things, "--things")  # refused now, not after the semantic scores
    check_paths(args)
    names = class_names(args.classes)
    from segcore.cli.evaluate_volume import is_volume, run_volume

    if is_volume(args.pred) or is_volume(args.gt):
        return run_volume(args, names)
    n = len(names) if names else 255
    pred, gt = mask_labels(args.pred), mask_labels(args.gt)
    try:
        _same_size(args, pred, gt)
        job = compare_semantic(pred, gt, num_classes=n, ignore=args.ignore, window=args.window)
        cm = run_job(job, "comparing")
    finally:
        pred.close()
        gt.close()
    scores = cm.scores()
    labels = names or [str(i) for i in range(n)]
    shown = [i for i in range(n) if names or not math.isnan(scores.iou[i])]
    out = sys.stdout
    out.write(f"{'class':<20} {'IoU':>6} {'Dice':>6} {'prec':>6} {'recall':>6} {'pixels':>12}\n")
    for i in shown:
        out.write(
            f"{labels[i][:20]:<20} {_fmt(scores.iou[i])} {_fmt(scores.dice[i])} "
            f"{_fmt(scores.precision[i])} {_fmt(scores.recall[i])} {int(scores.support[i]):>12}\n"
        )
    out.write(
        f"mIoU {_fmt(scores.miou)}  mean Dice {_fmt(scores.mean_dice)}  "
        f"pixel accuracy {_fmt(scores.pixel_accuracy)}  "
        f"mean class accuracy {_fmt(scores.mean_accuracy)}\n"
    )
    result: dict[str, Any] = scores.to_json(labels)
    result["per_class"] = [result["per_class"][i] for i in shown]
    if args.pred_instances and args.gt_instances:
        result.update(_instance_scores(args, labels, n))
        pan, ap, det = result["panoptic"], result["ap"], result["objects"]
        out.write(
            f"PQ {pan['pq']:.4f} (things {pan['things']['pq']:.4f}, "
            f"stuff {pan['stuff']['pq']:.4f})  mask AP {ap['AP']:.4f}  AP50 {ap['AP50']:.4f}\n"
            f"objects at IoU 0.5: precision {det['precision']:.4f}  recall {det['recall']:.4f}  "
            f"F1 {det['f1']:.4f}  ({det['tp']} matched, {det['fp']} false, {det['fn']} missed)\n"
        )
        for i, v in sorted(pan["per_class"].items()):
            out.write(
                f"  {labels[i][:20]:<20} PQ {v['pq']:.4f}  SQ {v['sq']:.4f}  RQ {v['rq']:.4f}\n"
            )
    elif args.pred_instances or args.gt_instances or args.pred_objects:
        raise FormatError("give both --pred-instances and --gt-instances for PQ and AP")
    if args.json:
        write_json(Path(args.json), result)
    return 0


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON under a temporary name, then rename it into place."""
    from segcore.errors import OutputError
    from segcore.files import part_path, publish, remove

    temp = part_path(path)
    try:
        temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    except OSError as exc:
        remove(temp)
        raise OutputError(f"{path}: cannot write the scores ({exc.strerror or exc})") from exc
    publish([(temp, path)])


def _same_size(args: argparse.Namespace, pred: LabelReader, gt: LabelReader) -> None:
    if (pred.width, pred.height) != (gt.width, gt.height):
        raise FormatError(
            f"{args.pred} is {pred.width} x {pred.height} but {args.gt} is "
            f"{gt.width} x {gt.height}; compare masks of the same image"
        )


def _instance_scores(args: argparse.Namespace, labels: list[str], n: int) -> dict[str, Any]:
    from segcore.formats.maskfile import mask_labels
    from segcore.labels.schema import ClassInfo, default_color
    from segcore.metrics.compare import compare_objects, compare_panoptic
    from segcore.metrics.instance import coco_ap

    if args.things:
        things = class_ids(args.things, "--things")
    else:
        raise FormatError("--things is needed with instance masks (class ids that have instances)")
    classes = [ClassInfo(i, labels[i], default_color(i), i in things) for i in range(n)]
    gt = mask_labels(args.gt, classes, instances_path=args.gt_instances)
    pred = mask_labels(args.pred, classes, instances_path=args.pred_instances)
    try:
        _same_size(args, pred, gt)
        job = compare_panoptic(
            pred, gt, num_classes=n, things=things, ignore=args.ignore, window=args.window
        )
        pq = run_job(job, "panoptic quality")
        scores = None if args.pred_objects is None else [object_scores(args.pred_objects)]
        ap = coco_ap([gt], [pred], scores=scores, window=args.window)
        matches = run_job(compare_objects(pred, gt, window=args.window), "object matching")
    finally:
        gt.close()
        pred.close()

    def part(subset: str) -> dict[str, Any]:
        r = pq.result(subset)
        return {"pq": r.pq, "sq": r.sq, "rq": r.rq, "classes": r.n}

    return {
        "panoptic": {
            **part("all"),
            "things": part("things"),
            "stuff": part("stuff"),
            "per_class": pq.result("all").per_class,
        },
        "ap": ap.stats,
        "objects": matches.result().to_json(),
    }


def object_scores(path: str) -> dict[int, float]:
    """Instance id -> score from an object table (``id`` and ``score`` columns)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            return {int(r["id"]): float(r["score"]) for r in csv.DictReader(f)}
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise FormatError(
            f"{path}: cannot read object scores ({exc}); give the CSV table tessera infer "
            "wrote (columns id and score)"
        ) from exc
