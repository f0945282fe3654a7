"""A pixel classifier runs through the inference engine: exact tiles, nodata, scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from pixel_helpers import Trained

from segcore.engine import InferOptions, infer
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.labels.schema import UNLABELLED


def test_tiles_equal_a_whole_image_pass(trained: Trained) -> None:
    source = ArraySource(trained.image)
    whole = run_to_end(infer(source, trained.path, options=InferOptions(logits=True)))
    assert whole.tiles == 1 and whole.mode == "exact"
    assert whole.halo == trained.result.meta.receptive_field
    tiled = run_to_end(infer(source, trained.path, options=InferOptions(logits=True, tile=56)))
    assert tiled.tiles >= 9  # 4-tile junctions inside the image
    assert whole.logits is not None and tiled.logits is not None
    assert np.abs(whole.logits - tiled.logits).max() <= 1e-5
    np.testing.assert_array_equal(whole.labels, tiled.labels)
    right = (whole.labels == trained.truth).mean()
    assert right > 0.9  # scribbles on every 9th row teach it the scene


def test_nan_and_nodata_pixels_come_out_unlabelled(trained: Trained) -> None:
    image = trained.image.astype(np.float32)
    image[20:40, 30:70] = np.nan
    result = run_to_end(infer(ArraySource(image), trained.path, options=InferOptions(tile=64)))
    assert (result.labels[20:40, 30:70] == UNLABELLED).all()
    assert (result.labels[45:] != UNLABELLED).all()
    coded = trained.image.astype(np.int16)
    coded[100:110, :] = -9999
    source = ArraySource(coded, nodata=-9999)
    result = run_to_end(infer(source, trained.path, options=InferOptions(score="confidence")))
    assert (result.labels[100:110] == UNLABELLED).all()
    assert result.score is not None
    assert (result.score[100:110] == 0).all() and result.score[:90].min() > 0


def test_the_engine_keeps_tiles_within_the_models_memory_bound(
    trained: Trained, tmp_path: Path
) -> None:
    from segcore.engine.tiling import tile_plan
    from segcore.models.files import read_meta

    def plan(path: Path) -> int:
        return tile_plan(
            4000, 4000, meta=read_meta(path), mode="exact", options=InferOptions()
        ).tile_w

    meta = trained.result.meta
    features = meta.extra["features"]
    assert features == trained.result.classifier.spec.count(3)
    # the bound: a tile's features (8 bytes each, features and their row copy) fit in 512 MB
    assert 8 * features * meta.extra["max_tile"] ** 2 <= 512 << 20
    assert plan(trained.path) <= meta.extra["max_tile"]
    # a model with more features (many bands) gets smaller tiles, still above twice its halo
    shutil.copy(trained.path, tmp_path / "m.onnx")
    side = json.loads(trained.path.with_suffix(".json").read_text())
    side["extra"]["max_tile"] = 300
    (tmp_path / "m.json").write_text(json.dumps(side))
    assert meta.receptive_field is not None
    assert 2 * meta.receptive_field < plan(tmp_path / "m.onnx") <= 300
