"""Learning from a user's real labels: the default deep model against pixel baselines.

Run by hand (not in CI)::

    uv run python bench/learning_bench.py                       # every case, defaults
    uv run python bench/learning_bench.py --case landsat --tile 128 --lr 3e-3
    uv run python bench/learning_bench.py --baselines-only

Cases (tests/segcore/training/learning_cases.py builds them from real files):
SpaceNet buildings on the top half of the tile, a thin road network painted into
the same real tile, Landsat 8 float reflectance with NaN nodata and 35 small
polygons, fluorescence nuclei on the left half.

Budget: not minutes (the machine is shared) but a number of training tiles
(``--tiles``, default 600 of 256 x 256, about what 4 minutes buy on an idle
2-core CPU; smaller tiles get as many more as keeps the pixel count). The
figures printed are the score on the reference pixels the model never saw
labelled, and the CPU seconds (user + system) each method took.

Baselines, on the labelled (valid) pixels only: nearest class mean of the raw
bands, a random forest (scikit-learn, 100 trees) on the raw bands, and the
pixel classifier (issue 12 part 4, ``segcore.pixelclass``) with its defaults.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "segcore" / "training"))

from learning_cases import (  # noqa: E402
    Case,
    landsat_polygons,
    nuclei_halves,
    pixel_classifier_map,
    roads_over_tile,
    spacenet_buildings,
)

from segcore.jobs import Progress, run_to_end  # noqa: E402
from segcore.training.config import TrainConfig  # noqa: E402
from segcore.training.data import data_from_arrays  # noqa: E402
from segcore.training.loop import train  # noqa: E402
from segcore.training.validation import confusion, iou_per_class, predict_classes  # noqa: E402

CASES: dict[str, Callable[[], Case]] = {
    "buildings": spacenet_buildings,
    "roads": roads_over_tile,
    "landsat": landsat_polygons,
    "nuclei": nuclei_halves,
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def score(case: Case, pred: np.ndarray) -> tuple[float, float | None]:
    """(mIoU over the classes, IoU of the rare class) on the reference pixels."""
    n = len(case.classes)
    ious = iou_per_class(confusion(pred, case.reference, n))
    miou = float(np.nanmean(ious))
    return miou, None if case.rare is None else float(ious[case.rare])


def _bands(image: np.ndarray) -> np.ndarray:
    return image[..., None] if image.ndim == 2 else image


def _labelled(case: Case) -> tuple[np.ndarray, np.ndarray]:
    bands = _bands(case.image).astype(np.float64)
    keep = (case.labels != 255) & np.isfinite(bands).all(-1)
    return bands[keep], case.labels[keep]


def _predict_pixels(case: Case, fit: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    bands = _bands(case.image).astype(np.float64)
    flat = bands.reshape(-1, bands.shape[-1])
    ok = np.isfinite(flat).all(-1)
    out = np.full(flat.shape[0], 255, np.uint8)
    out[ok] = fit(flat[ok])
    return out.reshape(case.labels.shape)


def nearest_mean(case: Case) -> np.ndarray:
    x, y = _labelled(case)
    classes = np.unique(y)
    std = x.std(0) + 1e-9
    means = np.stack([x[y == c].mean(0) for c in classes]) / std

    def nearest(f: np.ndarray) -> np.ndarray:
        return classes[(((f / std)[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)]

    return _predict_pixels(case, nearest)


def raw_forest(case: Case) -> np.ndarray:
    from sklearn.ensemble import RandomForestClassifier

    x, y = _labelled(case)
    forest = RandomForestClassifier(100, n_jobs=2, random_state=0).fit(x, y)
    return _predict_pixels(case, lambda f: forest.predict(f).astype(np.uint8))


def pixel_classifier(case: Case, threads: int) -> np.ndarray:
    """The pixel classifier of issue 12 part 4 with its defaults (64 trees, 3 scales)."""
    return pixel_classifier_map(case, threads=threads)


def deep(case: Case, args: argparse.Namespace) -> tuple[np.ndarray, str]:
    """The default deep run (the CLI's defaults unless flags change them)."""
    defaults = TrainConfig()
    tile = args.tile or defaults.tile
    budget = int(args.tiles * (256 / tile) ** 2)
    per_epoch = 64
    options = {
        "tile": tile,
        "epochs": max(1, budget // per_epoch),
        "tiles_per_epoch": per_epoch,
        "threads": args.threads,
        "seed": args.seed,
    }
    for name in ("batch", "lr", "loss", "arch", "patience"):
        value = getattr(args, name)
        if value is not None:
            options[name] = None if value == "none" else value
    if args.no_class_weights:
        options["class_weights"] = False
    if args.val_fraction is not None:
        options["val_fraction"] = args.val_fraction
    config = TrainConfig(**options)  # type: ignore[arg-type]
    data = data_from_arrays([case.image], [case.labels], classes=list(case.classes))

    def show(step: Progress) -> None:
        m = step.payload
        if m is not None and m.phase == "val" and args.verbose:
            print(f"  epoch {m.epoch} val mIoU {m.val_miou:.3f} missed {m.record.missed}")
            sys.stdout.flush()

    result = run_to_end(train(config, data=data), show)
    pred = predict_classes(result.module, result.meta, case.image)
    degenerate = len(np.unique(pred[case.reference != 255])) < 2
    note = (
        f"best epoch {result.best_epoch}/{len(result.history)} ({result.stopped}), "
        f"val mIoU {result.best_miou:.3f}{', CONSTANT' if degenerate else ''}"
    )
    return pred, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--tiles", type=int, default=600, help="budget in 256 x 256 tiles")
    parser.add_argument("--tile", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--loss")
    parser.add_argument("--arch")
    parser.add_argument("--patience", type=lambda v: v if v == "none" else int(v))
    parser.add_argument("--val-fraction", type=float)
    parser.add_argument("--no-class-weights", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baselines-only", action="store_true")
    parser.add_argument("--deep-only", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every validation")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; flags {' '.join(sys.argv[1:]) or '(defaults)'}")
    print("| case | method | mIoU | rare-class IoU | CPU s | note |")
    print("|---|---|---|---|---|---|")
    for name in args.case or sorted(CASES):
        case = CASES[name]()
        methods: list[tuple[str, Callable[[], tuple[np.ndarray, str]]]] = []
        if not args.deep_only:
            methods += [
                ("nearest class mean", lambda c=case: (nearest_mean(c), "")),
                ("random forest, raw bands", lambda c=case: (raw_forest(c), "")),
                ("pixel classifier", lambda c=case: (pixel_classifier(c, args.threads), "")),
            ]
        if not args.baselines_only:
            methods.append(("deep, defaults", lambda c=case: deep(c, args)))
        for label, run in methods:
            before, wall = cpu_seconds(), time.monotonic()
            pred, note = run()
            miou, rare = score(case, pred)
            cpu = cpu_seconds() - before
            rare_text = "-" if rare is None else f"{rare:.3f}"
            note = f"{note} wall {time.monotonic() - wall:.0f} s".strip()
            print(f"| {case.name} | {label} | {miou:.3f} | {rare_text} | {cpu:.0f} | {note} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
