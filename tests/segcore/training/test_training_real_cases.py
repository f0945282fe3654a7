"""The two shapes of failure of issue 12, on real files, with the default settings.

1. A rare thin class (roads painted into the real SpaceNet tile, 3 %) labelled on
   one half: validation holds roads, the saved checkpoint predicts roads on the
   other half, and no epoch that misses a class is kept while one that predicts
   every class exists.
2. Float32 Landsat 8 reflectance with NaN nodata and 35 small polygons: nothing
   non-finite reaches the model, and the default deep run beats a random forest
   on the raw bands over the whole scene.

In both the deep run must also reach the pixel classifier's score (trained on
the same labels with its defaults) within 0.02 IoU.

Budgets are in epochs (8 steps each) with a fixed seed and deterministic kernels;
even so the roads figure has moved between runs (0.180, 0.207), so the thresholds
keep a margin. See docs/bench/training.md for the full-budget benchmark
(bench/learning_bench.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from learning_cases import Case, landsat_polygons, pixel_classifier_map, roads_over_tile

from segcore.training.arrays import train_on_arrays
from segcore.training.config import TrainResult
from segcore.training.validation import confusion, iou_per_class, predict_classes

pytestmark = pytest.mark.slow


def _scores(case: Case, pred: np.ndarray) -> np.ndarray:
    return iou_per_class(confusion(pred, case.reference, len(case.classes)))


def _raw_forest(case: Case) -> np.ndarray:
    from sklearn.ensemble import RandomForestClassifier

    bands = case.image[..., None] if case.image.ndim == 2 else case.image
    bands = bands.astype(np.float64)
    finite = np.isfinite(bands).all(-1)
    keep = (case.labels != 255) & finite
    forest = RandomForestClassifier(100, random_state=0, n_jobs=1)
    forest.fit(bands[keep], case.labels[keep])
    pred = np.full(case.labels.shape, 255, np.uint8)
    pred[finite] = forest.predict(bands[finite])
    return pred


def _pixel_classifier(case: Case) -> np.ndarray:
    """The pixel classifier's prediction (issue 12 part 4), trained with its defaults."""
    return pixel_classifier_map(case, threads=2)


def _no_constant_checkpoint(result: TrainResult) -> None:
    best = result.history[result.best_epoch - 1]
    if any(not r.missed for r in result.history):
        assert not best.missed, "an epoch missing a class was kept while a full one existed"
    assert len(result.meta.classes) >= 2


def test_rare_thin_class_on_half_a_real_tile() -> None:
    case = roads_over_tile(384, seed=3)
    coverage = float((case.labels == 1).sum() / (case.labels != 255).sum())
    assert 0.01 < coverage < 0.08
    # tile 128 and lr 3e-3 learn thin roads in fewer CPU seconds than the defaults,
    # which need their full budget for it (bench/learning_bench.py --case roads)
    result = train_on_arrays(
        case.image, case.labels, classes=list(case.classes), epochs=8, tile=128, lr=3e-3,
        threads=2, seed=0,
    )  # fmt: skip
    _no_constant_checkpoint(result)
    assert result.held_out and result.val_pixels[1] > 0  # roads on both sides of the split
    pred = predict_classes(result.module, result.meta, case.image)
    unseen = pred[case.reference != 255]
    assert (unseen == 1).any() and (unseen == 0).any(), "the saved model predicts one class"
    road = _scores(case, pred)[1]
    forest_road = _scores(case, _raw_forest(case))[1]
    print(f"roads: IoU {road:.3f} (raw-band forest {forest_road:.3f})")
    pixel_road = _scores(case, _pixel_classifier(case))[1]
    print(f"roads: pixel classifier IoU {pixel_road:.3f}")
    assert road > max(forest_road, 0.1)  # measured 0.207, earlier 0.180 (forest 0.000)
    assert road >= pixel_road - 0.02  # measured 0.207 against 0.191
    assert pixel_road > forest_road  # the pixel classifier beats the raw-band forest


def test_nan_nodata_and_few_polygons_beat_a_raw_band_forest() -> None:
    case = landsat_polygons()
    assert np.isnan(case.image).any() and case.image.dtype == np.float32
    result = train_on_arrays(
        case.image, case.labels, classes=list(case.classes), epochs=3, threads=1, seed=0
    )
    _no_constant_checkpoint(result)
    assert all(np.isfinite(v) for v in result.meta.normalization.mean)
    pred = predict_classes(result.module, result.meta, case.image)
    deep = float(np.nanmean(_scores(case, pred)))
    forest = float(np.nanmean(_scores(case, _raw_forest(case))))
    print(f"landsat: mIoU {deep:.3f} (raw-band forest {forest:.3f})")
    pixel = float(np.nanmean(_scores(case, _pixel_classifier(case))))
    print(f"landsat: pixel classifier mIoU {pixel:.3f}")
    assert deep >= forest  # measured 0.890 against 0.758
    assert pixel > forest  # measured 0.897
    assert deep >= pixel - 0.02
