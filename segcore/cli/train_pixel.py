"""``tessera train --arch pixel-classifier``: the random-forest pixel classifier.

Part of ``tessera train`` (same data options); the forest options are in their
own argument group there. The model is written as ``OUTPUT.onnx`` with its
``OUTPUT.json`` sidecar and runs in ``tessera infer`` and the app like any model.
"""

from __future__ import annotations

import argparse
from typing import Any

from segcore.errors import TrainingError


def add_options(parser: argparse.ArgumentParser) -> None:
    from segcore.pixelclass.features import DEFAULT_FINE, DEFAULT_SIGMAS

    g = parser.add_argument_group("pixel classifier (--arch pixel-classifier)")
    sigmas = ",".join(f"{s:g}" for s in DEFAULT_SIGMAS)
    g.add_argument("--trees", type=int, help="trees in the random forest (default 64)")
    g.add_argument(
        "--sigmas",
        help=f"filter scales in pixels, comma-separated (default {sigmas}; "
        f"plus Gaussian smoothing at {DEFAULT_FINE:g})",
    )
    g.add_argument(
        "--samples-per-class",
        type=int,
        help="labelled pixels sampled per class at most (default 10000)",
    )


def config_from(args: argparse.Namespace) -> Any:
    from segcore.pixelclass.features import FeatureSpec
    from segcore.pixelclass.train import PixelConfig

    base = PixelConfig()
    features = base.features
    if args.sigmas:
        try:
            sigmas = tuple(float(s) for s in args.sigmas.split(","))
            features = FeatureSpec(sigmas=sigmas)
        except ValueError as exc:
            raise TrainingError(f"--sigmas {args.sigmas!r}: {exc}; give e.g. 1,3.5,10") from exc
    if args.output.suffix.lower() != ".onnx":
        raise TrainingError(
            f"{args.output}: a pixel classifier is saved as ONNX (with a .json sidecar); "
            f"use -o {args.output.with_suffix('.onnx')}"
        )
    if args.start is not None:
        raise TrainingError(
            "a pixel classifier is retrained from the labels in seconds, not fine-tuned; "
            "drop --from"
        )
    return PixelConfig(
        features=features,
        trees=base.trees if args.trees is None else args.trees,
        per_class=base.per_class if args.samples_per_class is None else args.samples_per_class,
        seed=args.seed,
        threads=args.threads,
        output=args.output,
    )


def run(args: argparse.Namespace, data: Any) -> int:
    from segcore.cli.progress import run_job
    from segcore.pixelclass.train import train_pixel_classifier

    config = config_from(args)
    job = train_pixel_classifier(config, data=data)
    result = run_job(job, "tessera train", quiet=args.quiet)
    meta = result.meta
    print(
        f"pixel classifier: {config.trees} trees on {meta.extra['features']} features "
        f"({meta.in_channels} band{'s' if meta.in_channels != 1 else ''}), halo "
        f"{meta.receptive_field} px, trained in {result.seconds:.1f} s"
    )
    for name, count in result.samples.items():
        oob = result.oob_accuracy.get(name)
        accuracy = "" if oob is None else f", out-of-bag accuracy {oob:.3f}"
        print(f"  {name:<20} {count} labelled pixels{accuracy}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if result.path is not None:
        print(f"saved {result.path} (+ {result.path.with_suffix('.json').name})")
    return 0
