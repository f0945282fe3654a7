"""Split an ONNX segmentation model so its high-resolution end runs in strips.

A U-Net-like model holds most of its activations in its last layers, at full
and half resolution (a 128-channel concatenation at half resolution, a
32-channel upsampling at full resolution), while its receptive field comes
from the deep, low-resolution layers. Exact tiles must be large to keep the
halo cheap, and those last layers decide how large a tile fits in memory.

:func:`split_model` cuts the graph in two:

* the **head** runs the whole tile down to the tensors the high-resolution
  end starts from (e.g. the quarter-resolution decoder output);
* the **tail** is every node whose output is at ``min_scale`` or finer of the
  input, back to those tensors and the model input. It is run in row strips
  of the tile, each with ``margin`` rows of context on both sides, cut on
  multiples of ``align`` so strided layers see the same pixels.

Only local operations may be in the tail (convolutions, pooling, resizing,
element-wise maths); a tail with anything else, or one whose recomputed
layers (the tail recomputes any encoder layer it shares with the head) would
cost more than ``MAX_REPEAT`` of the model, is refused. The margin is found by
running the split model in strips against the whole model on a random input,
growing it until the two agree to ``TOLERANCE``, so the split is exact by
measurement, as the model's receptive field is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

Shapes = dict[str, tuple[int, ...]]
MIN_SCALE = 0.5  # tail: tensors at half resolution or finer
MAX_REPEAT = 0.15  # share of the model's multiply-adds the tail may recompute
TOLERANCE = 1e-5  # relative to the largest logit, as the receptive-field probe
MAX_MARGIN = 128
LOCAL_OPS = frozenset(
    {
        "Add",
        "AveragePool",
        "BatchNormalization",
        "Clip",
        "Concat",
        "Constant",
        "Conv",
        "ConvTranspose",
        "Div",
        "Elu",
        "Gelu",
        "HardSigmoid",
        "HardSwish",
        "Identity",
        "LeakyRelu",
        "MaxPool",
        "Mul",
        "PRelu",
        "Relu",
        "Resize",
        "Sigmoid",
        "Softplus",
        "Sub",
        "Tanh",
    }
)


@dataclass(frozen=True)
class SplitModel:
    """The two halves of a split model as onnxruntime sessions, and how to run the tail.

    ``cuts`` names the tail's inputs with their downscale factor (4 for quarter
    resolution); the model input itself is usually one of them, with factor 1.
    """

    head: Any
    tail: Any
    input: str
    cuts: tuple[tuple[str, int], ...]
    margin: int
    align: int

    def strips(self, x: np.ndarray, rows: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(top, bottom, logits)`` for strips of about ``rows`` rows of batch ``x``."""
        return self.tail_strips(self.features(x), rows)

    def features(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The tail's inputs for batch ``x`` (N, C, H, W): the head's outputs and ``x``."""
        names = [c for c, _ in self.cuts if c != self.input]
        found = dict(zip(names, self.head.run(names, {self.input: x}), strict=True))
        return {**found, self.input: x}

    def tail_strips(
        self, features: dict[str, np.ndarray], rows: int
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        height = features[self.input].shape[2]
        rows = max(rows // self.align, 1) * self.align
        for top in range(0, height, rows):
            bottom = min(top + rows, height)
            lo, hi = max(top - self.margin, 0), min(bottom + self.margin, height)
            feed = {c: features[c][:, :, lo // k : -(-hi // k)] for c, k in self.cuts}
            (logits,) = self.tail.run(None, feed)
            yield top, bottom, logits[:, :, top - lo : bottom - lo]


Session = Callable[[bytes], Any]


def split_model(
    data: bytes, session: Session, *, probe: tuple[int, int] = (320, 128)
) -> SplitModel | None:
    """Split serialised ONNX model ``data``, or None when it cannot or need not be split.

    ``session`` makes an onnxruntime session from model bytes. ``probe`` is the
    (height, width) of the random test input, multiples of the model's stride.
    """
    import onnx

    model = onnx.load_model_from_string(data)
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        return None
    x, y = graph.input[0].name, graph.output[0].name
    channels = _channels(graph.input[0])
    if channels is None:
        return None
    rng = np.random.default_rng(0)
    sample = rng.standard_normal((1, channels, *probe), dtype=np.float32)
    values = _all_tensors(model, session, x, sample)
    shapes = {name: np.shape(v) for name, v in values.items()}
    found = _find_tail(model, shapes, x, y, probe)
    if found is None:
        return None
    tail_nodes, cuts = found
    inner = [c for c, _ in cuts if c != x]
    head_nodes = _ancestors(model, inner)
    if _repeat_share(model, shapes, tail_nodes, head_nodes) > MAX_REPEAT:
        return None
    head = session(_subgraph(model, head_nodes, [x], inner, shapes, "head"))
    model = _with_fixed_resizes(model, tail_nodes, shapes)
    tail = session(_subgraph(model, tail_nodes, [c for c, _ in cuts], [y], shapes, "tail"))
    split = SplitModel(head, tail, x, tuple(cuts), 0, max(k for _, k in cuts))
    return _with_margin(split, sample, values[y])


def _channels(value: onnx.ValueInfoProto) -> int | None:
    dims = value.type.tensor_type.shape.dim
    if len(dims) != 4 or not dims[1].HasField("dim_value"):
        return None
    return int(dims[1].dim_value)


def _all_tensors(
    model: onnx.ModelProto, session: Session, x: str, sample: np.ndarray
) -> dict[str, np.ndarray]:
    """Every tensor the graph computes on ``sample``, the input included."""
    import onnx

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = [out for node in probe.graph.node for out in node.output if out]
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names)
    values = session(probe.SerializeToString()).run(None, {x: sample})
    return {x: sample, **dict(zip(names, values, strict=True))}


def _factor(shape: tuple[int, ...], size: tuple[int, int]) -> int | None:
    """The downscale factor of a (N, C, H, W) tensor against the input, or None."""
    if len(shape) != 4 or 0 in shape[2:]:
        return None
    factor = size[0] // shape[2]
    ok = factor >= 1 and shape[2] * factor == size[0] and shape[3] * factor == size[1]
    return factor if ok else None


def _find_tail(
    model: onnx.ModelProto,
    shapes: Shapes,
    x: str,
    y: str,
    size: tuple[int, int],
) -> tuple[list[onnx.NodeProto], list[tuple[str, int]]] | None:
    """The tail's nodes (graph order) and its input tensors with their factors."""
    producer = {out: node for node in model.graph.node for out in node.output}
    weights = {init.name for init in model.graph.initializer}
    constant = _constants(model)
    finest = round(1 / MIN_SCALE)
    tail: dict[int, onnx.NodeProto] = {}
    cuts: dict[str, int] = {}
    todo = [y]
    while todo:
        name = todo.pop()
        if not name or name in weights or name in cuts:
            continue
        if name == x:
            cuts[x] = 1
            continue
        node = producer[name]
        if id(node) in tail:
            continue
        if name in constant:  # e.g. a bias passed through Identity
            tail[id(node)] = node
            todo.extend(node.input)
            continue
        factor = _factor(shapes[name], size)
        if factor is None:
            return None
        if factor > finest:  # computed by the head, whatever its operation
            cuts[name] = factor
            continue
        if node.op_type not in LOCAL_OPS:
            return None
        tail[id(node)] = node
        todo.extend(node.input[:1] if node.op_type == "Resize" else node.input)
    if not any(k > finest for k in cuts.values()):
        return None  # nothing coarse feeds the tail: splitting saves nothing
    order = [node for node in model.graph.node if id(node) in tail]
    return order, sorted(cuts.items(), key=lambda c: c[1])


def _constants(model: onnx.ModelProto) -> set[str]:
    """Tensors computed from weights and constants alone."""
    known = {init.name for init in model.graph.initializer} | {""}
    for node in model.graph.node:  # graph order is topological
        if all(i in known for i in node.input):
            known.update(node.output)
    return known


def _macs(node: onnx.NodeProto, shapes: Shapes, weights: dict[str, Any]) -> int:
    if node.op_type != "Conv" or node.input[1] not in weights:
        return 0
    kernel = weights[node.input[1]].dims  # out, in / groups, kh, kw
    return int(np.prod(shapes[node.output[0]])) * int(np.prod(kernel[1:]))


def _repeat_share(
    model: onnx.ModelProto,
    shapes: Shapes,
    tail: list[onnx.NodeProto],
    head: list[onnx.NodeProto],
) -> float:
    """Share of the model's convolution work done by both head and tail."""
    weights = {init.name: init for init in model.graph.initializer}
    in_head = {id(n) for n in head}
    total = sum(_macs(n, shapes, weights) for n in model.graph.node)
    twice = sum(_macs(n, shapes, weights) for n in tail if id(n) in in_head)
    return twice / max(total, 1)


def _ancestors(model: onnx.ModelProto, outputs: Iterable[str]) -> list[onnx.NodeProto]:
    producer = {out: node for node in model.graph.node for out in node.output}
    seen: dict[int, onnx.NodeProto] = {}
    todo = list(outputs)
    while todo:
        node = producer.get(todo.pop())
        if node is not None and id(node) not in seen:
            seen[id(node)] = node
            todo.extend(node.input)
    return [node for node in model.graph.node if id(node) in seen]


def _with_fixed_resizes(
    model: onnx.ModelProto, tail: list[onnx.NodeProto], shapes: Shapes
) -> onnx.ModelProto:
    """Tail Resizes scale by constants, not by sizes computed from the head's shapes.

    Changes the tail's nodes in place (they are rebuilt into a new graph).
    """
    import onnx

    for node in tail:
        if node.op_type != "Resize":
            continue
        src, dst = shapes[node.input[0]], shapes[node.output[0]]
        scales = np.array([d / s for s, d in zip(src, dst, strict=True)], np.float32)
        name = node.output[0] + "/fixed_scales"
        model.graph.initializer.append(onnx.numpy_helper.from_array(scales, name))
        node.input[:] = [node.input[0], "", name]
    return model


def _subgraph(
    model: onnx.ModelProto,
    nodes: list[onnx.NodeProto],
    inputs: list[str],
    outputs: list[str],
    shapes: Shapes,
    name: str,
) -> bytes:
    """A model of ``nodes`` from ``inputs`` to ``outputs``, serialised.

    Written here because ``onnx.utils.Extractor`` needs shape information for
    the cut tensors, which ONNX shape inference cannot give when Resize sizes
    are computed from other tensors' shapes (as in smp's U-Net); the probe
    run knows their channels.
    """
    import onnx
    from onnx import helper

    used = {i for n in nodes for i in n.input}
    weights = [w for w in model.graph.initializer if w.name in used]

    def value(tensor: str) -> onnx.ValueInfoProto:
        dims: list[int | str] = ["n", shapes[tensor][1], f"{tensor}_h", f"{tensor}_w"]
        return helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, dims)

    graph = helper.make_graph(
        nodes, name, [value(i) for i in inputs], [value(o) for o in outputs], weights
    )
    part = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    return part.SerializeToString()  # type: ignore[no-any-return]


def _with_margin(split: SplitModel, sample: np.ndarray, whole: np.ndarray) -> SplitModel | None:
    """The split with the smallest margin (``align`` doubled) that matches the whole model."""
    scale = max(float(np.abs(whole).max()), 1e-6)
    features = split.features(sample)
    margin = split.align
    while margin <= MAX_MARGIN:
        trial = replace(split, margin=margin)
        worst = max(
            float(np.abs(part - whole[:, :, top:bottom]).max())
            for top, bottom, part in trial.tail_strips(features, 4 * split.align)
        )
        if worst <= TOLERANCE * scale:
            return trial
        margin *= 2
    return None
