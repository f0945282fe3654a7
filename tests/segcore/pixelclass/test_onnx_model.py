"""The saved ONNX graph is the fitted forest on the same features, with no pickle anywhere."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
from pixel_helpers import Trained

from segcore.models.files import read_meta, read_onnx_meta
from segcore.pixelclass.classifier import FeatureExtractor


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def run_file(path: object, pixels: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = pixels.transpose(2, 0, 1)[None].astype(np.float32)
    return np.asarray(session.run(None, {"input": x})[0][0])


def test_onnx_graph_equals_the_sklearn_forest_on_the_same_features(trained: Trained) -> None:
    clf = trained.result.classifier
    norm = clf.normalization
    pixels = ((trained.image / norm.scale - np.array(norm.mean)) / np.array(norm.std)).astype(
        np.float32
    )
    features = FeatureExtractor(clf.spec, clf.in_channels)(pixels)  # (F, h, w)
    want = clf.proba(features).transpose(2, 0, 1)
    logits = run_file(trained.path, pixels)
    assert logits.shape == want.shape == (len(trained.classes), 150, 130)
    got = softmax(logits)
    assert np.abs(got - want).max() < 1e-5
    np.testing.assert_array_equal(logits.argmax(axis=0), want.argmax(axis=0))
    # water and road had no labels: their channels exist and never win
    assert set(np.unique(logits.argmax(axis=0))) <= {0, 3, 4}


def test_saved_as_onnx_and_json_without_pickle(trained: Trained) -> None:
    folder = trained.path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["scene.json", "scene.onnx"]
    model = onnx.load(str(trained.path))
    onnx.checker.check_model(model)
    assert {o.domain for o in model.opset_import} <= {"", "ai.onnx.ml"}
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["logits"]
    assert "TreeEnsembleClassifier" in {n.op_type for n in model.graph.node}
    side = json.loads(trained.path.with_suffix(".json").read_text())
    assert side["arch"] == "pixel-classifier"
    meta = read_onnx_meta(trained.path)
    assert meta == read_meta(trained.path) == trained.result.meta
    assert meta.exact and meta.output_stride == 1
    assert meta.receptive_field == trained.result.classifier.spec.halo
    assert meta.classes == trained.classes
    assert meta.normalization.scale == 1.0
