"""The pixel classifier as one ONNX file plus the sidecar JSON the engine reads.

The graph: ``input`` (N, bands, H, W), normalised as the sidecar says ->
features (:func:`segcore.pixelclass.graph.feature_graph`) -> one row per pixel
-> the forest, converted by skl2onnx (``TreeEnsembleClassifier``) -> class
probabilities mapped to class-id channels -> ``logits`` (N, classes, H, W) =
log(probability). The engine's softmax of these logits gives back the forest's
probabilities, so its confidence and entropy layers work unchanged. Pieces are
joined with ``onnx.compose.merge_models``.

Nothing is pickled: the file is an ONNX protobuf (weights are tree node
tables), the sidecar plain JSON (:class:`segcore.models.meta.ModelMeta`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segcore.errors import ModelError
from segcore.files import mkstemp_beside
from segcore.models.meta import ModelMeta
from segcore.pixelclass.classifier import PixelClassifier
from segcore.pixelclass.graph import FEATURES, OPSET, feature_graph

if TYPE_CHECKING:
    import onnx

ML_OPSET = 3  # ai.onnx.ml: TreeEnsembleClassifier as onnxruntime runs it
IR_VERSION = 8
EPS = 1e-7  # probabilities are floored here before the log: log(0) would be -inf


def _rows_graph(clf: PixelClassifier) -> onnx.ModelProto:
    """Features as rows (N*H*W, F) and the (N, H, W) shape to fold them back."""
    from onnx import TensorProto, helper, numpy_helper

    model = feature_graph(clf.spec, clf.in_channels)
    graph = model.graph
    count = clf.spec.count(clf.in_channels)
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([-1, count], np.int64), "rows_shape"),
            numpy_helper.from_array(np.array([0, 2, 3], np.int64), "nhw_index"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Transpose", [FEATURES], ["nhwf"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", ["nhwf", "rows_shape"], ["rows"]),
            helper.make_node("Shape", [FEATURES], ["nchw"]),
            helper.make_node("Gather", ["nchw", "nhw_index"], ["nhw"], axis=0),
        ]
    )
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info("rows", TensorProto.FLOAT, [None, count]),
            helper.make_tensor_value_info("nhw", TensorProto.INT64, [3]),
        ]
    )
    return model


def _forest_graph(clf: PixelClassifier) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    count = clf.spec.count(clf.in_channels)
    model: onnx.ModelProto = convert_sklearn(
        clf.forest,
        initial_types=[("x", FloatTensorType([None, count]))],
        options={id(clf.forest): {"zipmap": False}},
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
    )
    model.ir_version = IR_VERSION
    return model


def _tail_graph(clf: PixelClassifier) -> onnx.ModelProto:
    """Probabilities (P, trained classes) -> logits (N, channels, H, W)."""
    from onnx import TensorProto, helper, numpy_helper

    matrix = clf.class_matrix()
    k, channels = matrix.shape
    nodes = [
        helper.make_node("MatMul", ["p", "class_matrix"], ["pc"]),
        helper.make_node("Concat", ["shape", "channel_count"], ["nhwc_shape"], axis=0),
        helper.make_node("Reshape", ["pc", "nhwc_shape"], ["nhwc"]),
        helper.make_node("Transpose", ["nhwc"], ["nchw_p"], perm=[0, 3, 1, 2]),
        helper.make_node("Max", ["nchw_p", "eps"], ["floored"]),
        helper.make_node("Log", ["floored"], ["logits"]),
    ]
    inits = [
        numpy_helper.from_array(matrix, "class_matrix"),
        numpy_helper.from_array(np.array([channels], np.int64), "channel_count"),
        numpy_helper.from_array(np.array(EPS, np.float32), "eps"),
    ]
    graph = helper.make_graph(
        nodes,
        "tessera_pixel_tail",
        [
            helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, k]),
            helper.make_tensor_value_info("shape", TensorProto.INT64, [3]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", channels, "H", "W"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def to_onnx(clf: PixelClassifier) -> onnx.ModelProto:
    """One ONNX model: ``input`` (N, bands, H, W) -> ``logits`` (N, classes, H, W)."""
    import onnx
    from onnx import compose

    rows = _rows_graph(clf)
    rows.ir_version = IR_VERSION
    forest = compose.add_prefix(_forest_graph(clf), "forest_")
    probs = [o.name for o in forest.graph.output if o.name.endswith("probabilities")]
    front = compose.merge_models(
        rows, forest, io_map=[("rows", "forest_x")], outputs=["nhw", probs[0]]
    )
    model = compose.merge_models(
        front, _tail_graph(clf), io_map=[(probs[0], "p"), ("nhw", "shape")], outputs=["logits"]
    )
    model.graph.name = "tessera_pixel_classifier"
    onnx.checker.check_model(model)
    return model


def save_classifier(path: str | Path, clf: PixelClassifier, meta: ModelMeta) -> Path:
    """Write ``path`` (.onnx) and its sidecar ``.json``, each atomically.

    The model is written first and its sidecar second, both under temporary
    names renamed when complete, so a failure never leaves a half-written file.
    """
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ModelError(f"{path}: a pixel classifier is saved as .onnx; choose such a name")
    data = to_onnx(clf).SerializeToString()
    side = path.with_suffix(".json")
    text = json.dumps(meta.to_json(), indent=2).encode()
    _write_atomic(path, data)
    _write_atomic(side, text)
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        tmp = mkstemp_beside(path)  # with the user's umask, not mkstemp's 0600
    except OSError as exc:
        raise ModelError(
            f"{path}: cannot write there ({exc}); check that the folder exists"
        ) from exc
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot write the model ({exc}); check the folder") from exc
    finally:
        tmp.unlink(missing_ok=True)
