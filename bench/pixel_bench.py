"""Pixel-classifier benchmark: quality on real data against baselines, training time, live refresh.

Run by hand (not in CI)::

    uv run python bench/pixel_bench.py quality              # the table in docs/bench/training.md
    uv run python bench/pixel_bench.py quality --sweep      # feature sets and forest sizes
    uv run python bench/pixel_bench.py speed                # 6-band training, live refresh

Quality: each dataset of ``bench/pixel_data.py`` is trained on its training
labels and scored on its test labels (IoU per class over the test-labelled
pixels; the table shows the rare class's IoU where there is one, else the mean).
Baselines: the same forest on the raw (normalised) bands, and the nearest class
mean. Figures do not depend on the machine's load (fixed seeds).

Speed: training on 3,000 labelled pixels of a 6-band float32 image (2048 x 2048,
NaN nodata in one corner), and a live refresh of a 1024 x 1024 view (retrain
after a stroke, predict the view from cached features), in CPU and wall
seconds with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pixel_data import DATASETS, Dataset  # noqa: E402

from segcore.jobs import run_to_end  # noqa: E402
from segcore.labels.adapters import ArrayLabels  # noqa: E402
from segcore.labels.box import Box  # noqa: E402
from segcore.labels.schema import (
    UNLABELLED,  # noqa: E402
    make_classes,  # noqa: E402
)
from segcore.pixelclass.classifier import FeatureExtractor  # noqa: E402
from segcore.pixelclass.features import FeatureSpec  # noqa: E402
from segcore.pixelclass.pixels import invalid_mask  # noqa: E402
from segcore.pixelclass.train import PixelConfig, train_pixel_classifier  # noqa: E402
from segcore.training.data import (  # noqa: E402
    LabelledImage,
    TrainingData,
    data_from_arrays,
)
from segcore.training.survey import survey  # noqa: E402

Predictor = Callable[[Box], np.ndarray]  # level-0 box -> (h, w) class ids


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def iou_table(truth: np.ndarray, guess: np.ndarray, classes: int) -> list[float]:
    """IoU per class over the labelled pixels of ``truth`` (nodata guesses count as wrong)."""
    keep = truth != UNLABELLED
    t, g = truth[keep].astype(np.int64), guess[keep].astype(np.int64)
    out = []
    for c in range(classes):
        inter = int(((t == c) & (g == c)).sum())
        union = int(((t == c) | (g == c)).sum())
        out.append(inter / union if union else float("nan"))
    return out


def score(ds: Dataset, predict: Predictor) -> list[float]:
    """IoU per class on the test labels, predicting only the blocks that hold them."""
    data = data_from_arrays([ds.image], [ds.test])
    guess = np.full(ds.test.shape, UNLABELLED, np.uint8)
    for block in survey(data, block=256):
        b = block.box
        guess[b.y : b.y1, b.x : b.x1] = predict(Box(b.x, b.y, b.w, b.h))
    data.close()
    return iou_table(ds.test, guess, len(ds.classes))


def pixel_classifier(ds: Dataset, config: PixelConfig) -> tuple[Predictor, float, float]:
    """Train through the real job; (predictor, CPU s, wall s) of training."""
    data = arrays_data(ds, ds.train)
    source = data.images[0].image
    cpu, wall = time.process_time(), time.monotonic()
    result = run_to_end(train_pixel_classifier(config, data=data))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    clf = result.classifier
    extractor = FeatureExtractor(clf.spec, clf.in_channels)

    def predict(box: Box) -> np.ndarray:
        features, _ = extractor.window(source, clf.normalization, box)
        return clf.proba(features).argmax(axis=-1).astype(np.uint8)

    return predict, cpu, wall


def arrays_data(ds: Dataset, labels: np.ndarray) -> TrainingData:
    """Training data over the in-memory image, with its nodata value."""
    from segcore.io.array import ArraySource

    source = ArraySource(ds.image, name=ds.name, nodata=ds.nodata)
    item = LabelledImage(ds.name, source, ArrayLabels(labels))
    return TrainingData((item,), tuple(make_classes(list(ds.classes))))


def raw_samples(ds: Dataset, norm_source: object) -> tuple[np.ndarray, np.ndarray]:
    """Normalised raw bands at the (valid) training pixels."""
    from segcore.io.array import ArraySource

    source = ArraySource(ds.image, nodata=ds.nodata)
    raw = ds.image if ds.image.ndim == 3 else ds.image[..., None]
    invalid = invalid_mask(raw, source, Box(0, 0, source.width, source.height))
    keep = (ds.train != UNLABELLED) & ~invalid
    return raw[keep].astype(np.float64), ds.train[keep]


def raw_forest(ds: Dataset, config: PixelConfig) -> tuple[Predictor, float, float]:
    from segcore.pixelclass.train import fit_forest

    x, y = raw_samples(ds, None)
    mean, std = x.mean(0), x.std(0) + 1e-9
    rng = np.random.default_rng(0)
    keep = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[: config.per_class] for c in np.unique(y)]
    )
    cpu, wall = time.process_time(), time.monotonic()
    forest = fit_forest(((x[keep] - mean) / std).astype(np.float32), y[keep], config)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall

    def predict(box: Box) -> np.ndarray:
        pixels = ds.image[box.y : box.y1, box.x : box.x1].reshape(box.w * box.h, -1)
        rows = np.nan_to_num((pixels - mean) / std).astype(np.float32)
        return forest.predict(rows).reshape(box.h, box.w).astype(np.uint8)  # type: ignore[attr-defined]

    return predict, cpu, wall


def class_mean(ds: Dataset, config: PixelConfig) -> tuple[Predictor, float, float]:
    x, y = raw_samples(ds, None)
    mean, std = x.mean(0), x.std(0) + 1e-9
    ids = np.unique(y)
    centres = np.stack([((x[y == c] - mean) / std).mean(0) for c in ids])

    def predict(box: Box) -> np.ndarray:
        pixels = ds.image[box.y : box.y1, box.x : box.x1].reshape(box.w * box.h, -1)
        rows = np.nan_to_num((pixels - mean) / std)
        d = ((rows[:, None, :] - centres[None]) ** 2).sum(-1)
        return ids[d.argmin(1)].reshape(box.h, box.w).astype(np.uint8)

    return predict, 0.0, 0.0


def summary(ds: Dataset, ious: list[float]) -> str:
    if ds.scored:
        return " / ".join(f"{ds.classes[c]} {ious[c]:.3f}" for c in ds.scored)
    return f"mIoU {np.nanmean(ious):.3f} (" + ", ".join(f"{v:.2f}" for v in ious) + ")"


SWEEP = {
    "0.7-1.6-3.5-5 +0.3": FeatureSpec(),
    "0.7-1.6-3.5-5-10 +0.3": FeatureSpec(sigmas=(0.7, 1.6, 3.5, 5.0, 10.0)),
    "1-3.5-10 +0.3": FeatureSpec(sigmas=(1.0, 3.5, 10.0)),
    "0.7-1.6-3.5 +0.3": FeatureSpec(sigmas=(0.7, 1.6, 3.5)),
    "1.6-5 (no fine)": FeatureSpec(sigmas=(1.6, 5.0), fine=None),
}


def quality(args: argparse.Namespace) -> None:
    names = args.datasets or list(DATASETS)
    print(f"load {load()}")
    print("| dataset | method | score on the test labels | train CPU s | train wall s |")
    print("|---|---|---|---|---|")
    for name in names:
        ds = DATASETS[name]()
        runs: list[tuple[str, Callable[..., tuple[Predictor, float, float]], PixelConfig]] = []
        if args.sweep:
            for label, spec in SWEEP.items():
                for trees in (32, 64, 128) if spec == FeatureSpec() else (64,):
                    runs.append((f"pixel classifier {label}, {trees} trees", pixel_classifier,
                                 PixelConfig(features=spec, trees=trees)))  # fmt: skip
        else:
            runs.append(("pixel classifier (defaults)", pixel_classifier, PixelConfig()))
        runs.append(("random forest, raw bands", raw_forest, PixelConfig()))
        runs.append(("nearest class mean, raw bands", class_mean, PixelConfig()))
        for label, method, config in runs:
            predict, cpu, wall = method(ds, config)
            ious = score(ds, predict)
            print(f"| {ds.name} | {label} | {summary(ds, ious)} | {cpu:.1f} | {wall:.1f} |")
            sys.stdout.flush()


def six_band_image(size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """A 6-band float32 scene (synthetic textures, NaN nodata corner) and 3,000 labelled pixels."""
    from segcore.synthetic import SceneSpec, render_region

    spec = SceneSpec(seed=5, bands=3)
    image = np.zeros((size, size, 6), np.float32)
    truth = np.zeros((size, size), np.uint8)
    step = 256
    for y in range(0, size, step):
        for x in range(0, size, step):
            scene = render_region(spec, x, y, step, step)
            rgb = scene.image.astype(np.float32) / 255.0
            image[y : y + step, x : x + step, :3] = rgb
            image[y : y + step, x : x + step, 3:] = rgb[..., ::-1] ** 2
            truth[y : y + step, x : x + step] = scene.semantic
    image[: size // 4, : size // 4] = np.nan
    labels = np.full((size, size), UNLABELLED, np.uint8)
    rng = np.random.default_rng(0)
    candidates = np.flatnonzero(~np.isnan(image[..., 0]).ravel())
    # 3,000 pixels in 30 short horizontal strokes of 100 px
    for start in rng.choice(candidates, 30, replace=False):
        y, x = divmod(int(start), size)
        x = min(x, size - 100)
        labels[y, x : x + 100] = truth[y, x : x + 100]
    return image, labels


def speed(args: argparse.Namespace) -> None:
    image, labels = six_band_image()
    for bands in (6, 3):
        part = np.ascontiguousarray(image[..., :bands])
        print(
            f"{bands}-band image {part.shape[:2]}, {int((labels != UNLABELLED).sum())} labelled px"
        )
        train_and_refresh(part, labels)


def train_and_refresh(image: np.ndarray, labels: np.ndarray) -> None:
    data = data_from_arrays([image], [labels])
    with tempfile.TemporaryDirectory() as tmp:
        config = PixelConfig(output=Path(tmp) / "m.onnx")
        cpu, wall, before = time.process_time(), time.monotonic(), load()
        result = run_to_end(train_pixel_classifier(config, data=data))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(f"train + save: {wall:.1f} s wall, {cpu:.1f} CPU s, load {before} -> {load()}")
    print(f"  samples {result.samples}")
    live_refresh(data)
    data.close()


def live_refresh(data: TrainingData) -> None:
    """Retrain after a stroke and predict a 1024 x 1024 view from cached features."""
    from segcore.pixelclass.live import LiveClassifier

    item = data.images[0]
    live = LiveClassifier(item.image, item.labels, classes=None)  # the app's settings
    # the user has labelled, then turns live mode on with this view on screen
    view = Box(512, 512, 1024, 1024)
    cpu, wall = time.process_time(), time.monotonic()
    run_to_end(live.refresh(view, changed=None))
    print(f"first refresh (features of the view computed): {time.monotonic() - wall:.1f} s "
          f"wall, {time.process_time() - cpu:.1f} CPU s, load {load()}")  # fmt: skip
    for _ in range(3):
        cpu, wall = time.process_time(), time.monotonic()
        live.mark_changed(Box(600, 600, 100, 3))
        result = run_to_end(live.refresh(view))
        print(f"refresh after a stroke: {time.monotonic() - wall:.2f} s wall "
              f"(refit {result.train_seconds:.2f} s), {time.process_time() - cpu:.2f} CPU s, "
              f"{result.predicted} tiles, load {load()}")  # fmt: skip
    live.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("quality", "speed"))
    parser.add_argument("--datasets", nargs="*", choices=list(DATASETS))
    parser.add_argument("--sweep", action="store_true", help="feature sets x forest sizes")
    args = parser.parse_args()
    quality(args) if args.what == "quality" else speed(args)


if __name__ == "__main__":
    main()
