"""Train a pixel classifier: survey labels, band statistics, samples, forest, file.

>>> job = train_pixel_classifier(PixelConfig(output=Path("m.onnx")), data=data)  # doctest: +SKIP
>>> result = run_to_end(job)                                                    # doctest: +SKIP

The forest is scikit-learn's ``RandomForestClassifier`` with balanced class
weights (a class with few labelled pixels counts as much as one with many),
the features of :mod:`segcore.pixelclass.features` and the samples of
:mod:`segcore.pixelclass.samples`. Defaults were chosen by measurement
(``bench/pixel_bench.py``, ``docs/bench/training.md``).
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segcore.errors import TrainingError
from segcore.jobs import Job, Progress
from segcore.labels.schema import ClassInfo
from segcore.models.meta import ModelMeta
from segcore.pixelclass import ARCH
from segcore.pixelclass.classifier import FeatureExtractor, PixelClassifier
from segcore.pixelclass.features import FeatureSpec
from segcore.pixelclass.pixels import band_stats
from segcore.pixelclass.samples import Samples, collect
from segcore.training.data import TrainingData
from segcore.training.survey import check_labels, resolve_classes, survey_labels

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier

BLOCK = 256  # labels are surveyed and features computed in blocks of this side
TILE = 512  # the tile the app runs it at; memory ~ tile^2 x features x 8 bytes
MAX_TILE_BYTES = 512 << 20  # the engine's tile is capped so its features fit in this
FEW_PIXELS = 50  # a class with fewer labelled pixels gets a warning


MAX_TREES = 4096  # each tree is a table in the ONNX file; more add size, not accuracy


@dataclass(frozen=True)
class PixelConfig:
    """How to train: features, forest size, sampling, output file (None: not saved)."""

    features: FeatureSpec = field(default_factory=FeatureSpec)
    trees: int = 64
    max_depth: int | None = None
    min_samples_leaf: int = 1
    per_class: int = 10_000
    seed: int = 0
    threads: int | None = None
    output: Path | None = None

    def check(self) -> None:
        if not 1 <= self.trees <= MAX_TREES:
            raise TrainingError(f"a forest has 1..{MAX_TREES} trees, got {self.trees}")
        if self.per_class < 10:
            raise TrainingError(f"sample at least 10 pixels per class, got {self.per_class}")
        if self.output is not None and self.output.suffix.lower() != ".onnx":
            raise TrainingError(
                f"{self.output}: a pixel classifier is saved as an .onnx file (with a .json "
                "sidecar); choose a name ending in .onnx"
            )


@dataclass(frozen=True)
class PixelResult:
    """A trained classifier, its metadata and where it was saved (None: not saved).

    ``oob_accuracy`` is the forest's out-of-bag accuracy per class on the
    sampled pixels: a check that the features separate the labels, not a
    held-out score (labelled pixels of one stroke are alike).
    """

    classifier: PixelClassifier
    meta: ModelMeta
    path: Path | None
    samples: dict[str, int]
    oob_accuracy: dict[str, float]
    warnings: tuple[str, ...]
    seconds: float


def fit_forest(
    features: np.ndarray, labels: np.ndarray, config: PixelConfig, *, oob: bool = False
) -> RandomForestClassifier:
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(
        n_estimators=config.trees,
        max_depth=config.max_depth,
        min_samples_leaf=config.min_samples_leaf,
        max_features="sqrt",
        class_weight="balanced",
        oob_score=oob,
        n_jobs=config.threads or os.cpu_count() or 1,
        random_state=config.seed,
    )
    with warnings.catch_warnings():
        # few trees on few pixels leave some pixels in every bootstrap: no OOB score for them
        warnings.filterwarnings("ignore", "Some inputs do not have OOB scores")
        return forest.fit(features, labels)


def train_pixel_classifier(
    config: PixelConfig, *, data: TrainingData, bands: int | None = None
) -> Job[PixelResult]:
    """Train on ``data``'s labels; yields ``Progress`` per block read, returns a PixelResult."""
    config.check()
    start = time.monotonic()
    sources = [item.image for item in data.images]
    if not sources:
        raise TrainingError("no images to train on")
    bands = bands or _bands(data)
    yield Progress(0, 1, "reading labels")
    surveyed = survey_labels(data, block=BLOCK)
    blocks = surveyed.blocks
    classes = resolve_classes(data, blocks)
    check_labels(
        blocks, classes, data, on_nodata=surveyed.on_nodata, unlabelled=surveyed.unlabelled
    )
    norm = band_stats(sources, [(b.image, b.box) for b in blocks])
    extractor = FeatureExtractor(config.features, bands, threads=config.threads)
    samples = yield from collect(
        data, blocks, extractor, norm, per_class=config.per_class, seed=config.seed
    )
    warnings = _check_samples(samples, classes, data)
    yield Progress(1, 1, f"fitting {config.trees} trees on {len(samples.labels)} pixels")
    forest = fit_forest(samples.features, samples.labels, config, oob=True)
    clf = PixelClassifier(config.features, norm, classes, bands, forest)
    meta = classifier_meta(clf, config, samples)
    path = None
    if config.output is not None:
        from segcore.pixelclass.onnx_model import save_classifier

        path = save_classifier(config.output, clf, meta)
    return PixelResult(
        clf,
        meta,
        path,
        _by_name(samples.labelled, classes),
        _oob(forest, samples.labels, classes),
        warnings,
        time.monotonic() - start,
    )


def _bands(data: TrainingData) -> int:
    counts = {item.image.band_count for item in data.images}
    if len(counts) != 1:
        names = ", ".join(f"{i.name} ({i.image.band_count})" for i in data.images)
        raise TrainingError(
            f"the images have different band counts: {names}; train on images of one kind"
        )
    return counts.pop()


def _check_samples(
    samples: Samples, classes: tuple[ClassInfo, ...], data: TrainingData
) -> tuple[str, ...]:
    """Refuse labels that lie only on nodata; warn about classes with few pixels."""
    names = ", ".join(item.name for item in data.images)
    if not samples.labelled.any():
        raise TrainingError(
            f"every labelled pixel of {names} is nodata (NaN, the file's nodata value or "
            "alpha 0); label pixels that hold image data"
        )
    present = [c for c in classes if samples.labelled[c.id] > 0]
    if len(present) < 2:
        lost = [c.name for c in classes if samples.nodata[c.id] and not samples.labelled[c.id]]
        raise TrainingError(
            f"after leaving out nodata pixels only {len(present)} class is labelled in "
            f"{names} (all labels of {', '.join(lost) or 'the others'} are on nodata); "
            "label image data of at least two classes"
        )
    warnings = []
    for c in classes:
        n = int(samples.labelled[c.id])
        if 0 < n < FEW_PIXELS:
            warnings.append(
                f"class {c.name} has only {n} labelled pixels; label more of it for a "
                "reliable model"
            )
        elif n == 0 and samples.nodata[c.id]:
            warnings.append(f"class {c.name} is labelled only on nodata pixels and is not learnt")
    return tuple(warnings)


def classifier_meta(clf: PixelClassifier, config: PixelConfig, samples: Samples) -> ModelMeta:
    """The metadata the engine reads from the sidecar: exact tiling with the filters' halo."""
    features = clf.spec.count(clf.in_channels)
    max_tile = int((MAX_TILE_BYTES / (8 * max(features, 1))) ** 0.5) // 16 * 16
    return ModelMeta(
        arch=ARCH,
        config={
            "features": clf.spec.to_json(),
            "trees": config.trees,
            "max_depth": config.max_depth,
            "min_samples_leaf": config.min_samples_leaf,
            "per_class": config.per_class,
            "seed": config.seed,
        },
        in_channels=clf.in_channels,
        classes=clf.classes,
        normalization=clf.normalization,
        tile_size=min(TILE, max(max_tile, 64)),
        output_stride=1,
        receptive_field=clf.spec.halo,
        exact=True,
        history=(
            {
                "samples": {str(c): int(n) for c, n in enumerate(samples.labelled) if n},
                "sampled": int(len(samples.labels)),
            },
        ),
        extra={"max_tile": max(max_tile, 2 * clf.spec.halo + 16), "features": features},
    )


def _by_name(counts: np.ndarray, classes: tuple[ClassInfo, ...]) -> dict[str, int]:
    return {c.name: int(counts[c.id]) for c in classes}


def _oob(forest: object, labels: np.ndarray, classes: tuple[ClassInfo, ...]) -> dict[str, float]:
    decision = getattr(forest, "oob_decision_function_", None)
    trained = getattr(forest, "classes_", None)
    if decision is None or trained is None:
        return {}
    guess = np.asarray(trained)[np.nan_to_num(decision).argmax(axis=1)]
    out = {}
    for c in classes:
        mine = labels == c.id
        if mine.any():
            out[c.name] = float((guess[mine] == c.id).mean())
    return out
