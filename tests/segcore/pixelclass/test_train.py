"""Training: nodata never sampled, class-balanced caps, checks, the CLI, and real quality."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from pixel_helpers import SMALL, scribbles

from segcore.cli import main as cli
from segcore.errors import TrainingError
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.pixelclass.classifier import FeatureExtractor
from segcore.pixelclass.samples import Reservoir
from segcore.pixelclass.train import PixelConfig, train_pixel_classifier
from segcore.synthetic import make_scene
from segcore.training.data import LabelledImage, TrainingData, data_from_arrays


def with_nodata(image: np.ndarray, labels: np.ndarray, nodata: float | None) -> TrainingData:
    item = LabelledImage("scene", ArraySource(image, nodata=nodata), ArrayLabels(labels))
    return TrainingData((item,), tuple(make_classes(["a", "b", "c"])))


def test_nodata_pixels_never_enter_the_samples() -> None:
    image = np.random.default_rng(0).normal(size=(96, 96, 2)).astype(np.float32)
    image[:, 48:] += 3.0
    labels = np.full((96, 96), UNLABELLED, np.uint8)
    labels[10:20, 5:40] = 0
    labels[10:20, 55:90] = 1
    labels[60:70, 5:90] = 2
    image[60:70, :50, 0] = np.nan  # half of class c on NaN
    image[60:70, 50:, :] = -9999.0  # the other half on the file's nodata value
    data = with_nodata(image, labels, -9999.0)
    result = run_to_end(train_pixel_classifier(SMALL, data=data))
    assert result.samples == {"a": 350, "b": 350, "c": 0}
    assert "class c is labelled only on nodata pixels" in result.warnings[0]
    labels[75:80, 5:90] = 2
    result = run_to_end(train_pixel_classifier(SMALL, data=data))
    assert result.samples == {"a": 350, "b": 350, "c": 425}  # the 850 nodata pixels left out
    stats = result.classifier.normalization
    assert np.isfinite(stats.mean).all() and abs(stats.mean[1]) < 3  # -9999 not averaged in


def test_labels_only_on_nodata_are_refused_and_rare_classes_warned() -> None:
    image = np.ones((64, 64, 1), np.float32)
    image[:32] = np.nan
    labels = np.full((64, 64), UNLABELLED, np.uint8)
    labels[5:10, 5:60] = 0
    labels[20:25, 5:60] = 1
    with pytest.raises(TrainingError, match="labelled pixels of .* lie on nodata"):
        run_to_end(train_pixel_classifier(SMALL, data=with_nodata(image, labels, None)))
    image[32:, :, 0] = np.arange(64)[None, :]
    labels[40:45, 5:60] = 0
    labels[50, 60:63] = 1  # 3 valid pixels of b
    result = run_to_end(train_pixel_classifier(SMALL, data=with_nodata(image, labels, None)))
    assert result.samples["b"] == 3
    assert any("b has only 3 labelled pixels" in w for w in result.warnings)


def test_samples_are_class_balanced_with_a_cap() -> None:
    reservoir = Reservoir(100, np.random.default_rng(0))
    for start in range(0, 5000, 1000):
        reservoir.add(0, np.arange(start, start + 1000, dtype=np.float32)[:, None])
    reservoir.add(1, np.zeros((30, 1), np.float32))
    features, labels = reservoir.arrays(1)
    assert np.bincount(labels).tolist() == [100, 30]
    kept = features[labels == 0, 0]
    assert len(np.unique(kept)) == 100 and kept.min() < 1000 and kept.max() >= 4000


def test_cli_trains_and_infers_a_pixel_classifier(tmp_path: Path) -> None:
    scene = make_scene(120, 100, seed=7)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(scene.image).save(tmp_path / "images" / "a.png")
    Image.fromarray(scribbles(scene.semantic)).save(tmp_path / "masks" / "a.png")
    model = tmp_path / "m.onnx"
    args = ["train", "--arch", "pixel-classifier", "--images", str(tmp_path / "images")]
    args += ["--masks", str(tmp_path / "masks"), "--trees", "8", "--sigmas", "1,2.5"]
    assert cli([*args, "--quiet", "-o", str(model)]) == 0
    assert model.is_file() and model.with_suffix(".json").is_file()
    out = tmp_path / "pred.tif"
    assert cli(["infer", str(tmp_path / "images" / "a.png"), "-m", str(model), "-o", str(out)]) == 0
    predicted = tifffile.imread(out)
    assert predicted.shape == scene.semantic.shape == (120, 100)
    assert (predicted == scene.semantic).mean() > 0.85
    # a .safetensors name, or --from, is refused before any data is read
    assert cli([*args, "-o", str(tmp_path / "m.safetensors")]) == 2
    assert cli([*args, "--from", str(model), "-o", str(tmp_path / "n.onnx")]) == 2
    assert not (tmp_path / "n.onnx").exists()


def iou(truth: np.ndarray, guess: np.ndarray, cls: int) -> float:
    keep = truth != UNLABELLED
    t, g = truth[keep] == cls, guess[keep] == cls
    return float((t & g).sum() / max((t | g).sum(), 1))


@pytest.mark.slow
def test_beats_a_raw_band_forest_on_real_nuclei(sample: Callable[[str], Path]) -> None:
    """Left half of the real nuclei image for training, right half scored (nucleus IoU)."""
    from segcore.pixelclass.train import fit_forest

    image = tifffile.imread(sample("nuclei_image"))[..., None]
    truth = (tifffile.imread(sample("nuclei_mask")) > 0).astype(np.uint8)
    train = truth.copy()
    train[:, 256:] = UNLABELLED
    config = PixelConfig(trees=16, per_class=3000)
    data = data_from_arrays([image], [train], classes=["background", "nucleus"])
    clf = run_to_end(train_pixel_classifier(config, data=data)).classifier
    right = Box(256, 0, 256, 512)
    source = data.images[0].image
    feats, _ = FeatureExtractor(clf.spec, 1).window(source, clf.normalization, right)
    guess = clf.proba(feats).argmax(axis=-1)
    ours = iou(truth[:, 256:], guess, 1)

    x = image[:, :256].reshape(-1, 1).astype(np.float32)
    y = train[:, :256].ravel()
    rng = np.random.default_rng(0)
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:3000] for c in (0, 1)])
    forest = fit_forest(x[keep], y[keep], config)
    raw = forest.predict(image[:, 256:].reshape(-1, 1).astype(np.float32)).reshape(512, 256)  # type: ignore[attr-defined]
    baseline = iou(truth[:, 256:], raw, 1)
    print(f"nucleus IoU: pixel classifier {ours:.3f}, raw-band forest {baseline:.3f}")
    assert ours > baseline + 0.05
    assert ours > 0.8
