"""The feature filters as one ONNX graph of fixed-kernel convolutions.

Input ``input`` (N, bands, H, W) float32, already normalised; output
``features`` (N, bands x per-band features, H, W), band-major in the order of
:meth:`FeatureSpec.names`. Non-finite inputs (NaN, inf: nodata the engine did
not fill) become 0, the normalised band mean, before any filter.

Bands are folded into the batch (N x bands, 1, H, W), so every filter is an
ordinary convolution with one input channel: a Gaussian of any order is
separable, a horizontal pass (1 x k) and a vertical pass (k x 1), each after
padding by repeating the edge pixel (``mode="nearest"`` in scipy's terms).
Padding happens in the graph, so a tile's edge that is also the image edge is
treated exactly as in a whole-image pass, and any pixel farther than
:attr:`FeatureSpec.halo` from an inner tile edge is exact.

Written with ``onnx.helper`` rather than exported from PyTorch: training and
inference then need no torch at all, and the graph is small (a few hundred
nodes) and readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from segcore.pixelclass.features import FeatureSpec, gaussian_kernel

if TYPE_CHECKING:
    import onnx

OPSET = 17
INPUT = "input"
FEATURES = "features"


class _Builder:
    """Collects nodes and initialisers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, value: np.ndarray, stem: str = "c") -> str:
        from onnx import numpy_helper

        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], stem: str = "t", **attrs: Any) -> str:
        from onnx import helper

        out = self.name(stem)
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def separable(self, x: str, kernels: list[tuple[np.ndarray, np.ndarray]], groups: int) -> str:
        """Apply (horizontal, vertical) kernel pairs; ``x`` has ``groups`` channels.

        Output channel ``g * len(kernels) + j`` is pair ``j`` applied to channel ``g``.
        Every kernel of one call has the same length.
        """
        k = len(kernels)
        r = (len(kernels[0][0]) - 1) // 2
        hor = np.stack([h for h, _ in kernels]).astype(np.float32)
        ver = np.stack([v for _, v in kernels]).astype(np.float32)
        w_h = np.tile(hor, (groups, 1)).reshape(groups * k, 1, 1, 2 * r + 1)
        w_v = np.tile(ver, (groups, 1)).reshape(groups * k, 1, 2 * r + 1, 1)
        pads_h = self.const(np.array([0, 0, 0, r, 0, 0, 0, r], np.int64), "pad")
        pads_v = self.const(np.array([0, 0, r, 0, 0, 0, r, 0], np.int64), "pad")
        padded = self.op("Pad", [x, pads_h], mode="edge")
        across = self.op("Conv", [padded, self.const(w_h, "wh")], group=groups)
        padded = self.op("Pad", [across, pads_v], mode="edge")
        return self.op("Conv", [padded, self.const(w_v, "wv")], group=groups * k)

    def channel(self, x: str, index: int, count: int = 1) -> str:
        starts = self.const(np.array([index], np.int64), "s")
        ends = self.const(np.array([index + count], np.int64), "e")
        axes = self.const(np.array([1], np.int64), "a")
        return self.op("Slice", [x, starts, ends, axes])

    def eigenvalues(self, a: str, b: str, c: str) -> tuple[str, str]:
        """Eigenvalues (larger, smaller) of the symmetric matrices [[a, b], [b, c]]."""
        half = self.const(np.array(0.5, np.float32), "half")
        four = self.const(np.array(4.0, np.float32), "four")
        diff = self.op("Sub", [a, c])
        squares = self.op(
            "Add", [self.op("Mul", [diff, diff]), self.op("Mul", [four, self.op("Mul", [b, b])])]
        )
        disc = self.op("Sqrt", [squares])  # sqrt((a - c)^2 + 4 b^2)
        trace = self.op("Add", [a, c])
        big = self.op("Mul", [self.op("Add", [trace, disc]), half])
        small = self.op("Mul", [self.op("Sub", [trace, disc]), half])
        return big, small


def _scale_features(b: _Builder, x: str, sigma: float, spec: FeatureSpec) -> list[str]:
    """The features of one scale for (M, 1, H, W) input, as (M, 1, H, W) maps."""
    t = spec.truncate
    g0, g1, g2 = (gaussian_kernel(sigma, order, t) for order in (0, 1, 2))
    kinds = set(spec.kinds)
    pairs: list[tuple[np.ndarray, np.ndarray]] = [(g0, g0)]
    if kinds & {"log", "gradient", "hessian"}:
        pairs += [(g1, g0), (g0, g1), (g2, g0), (g0, g2), (g1, g1)]
    out = b.separable(x, pairs, groups=1)  # G, Gx, Gy, Gxx, Gyy, Gxy
    maps = {
        name: b.channel(out, i)
        for i, name in enumerate(["g", "x", "y", "xx", "yy", "xy"][: len(pairs)])
    }
    result: list[str] = []
    for kind in spec.kinds:
        if kind == "gaussian":
            result.append(maps["g"])
        elif kind == "log":
            result.append(b.op("Add", [maps["xx"], maps["yy"]]))
        elif kind == "gradient":
            sq = b.op(
                "Add", [b.op("Mul", [maps["x"], maps["x"]]), b.op("Mul", [maps["y"], maps["y"]])]
            )
            result.append(b.op("Sqrt", [sq]))
        elif kind == "hessian":
            result += b.eigenvalues(maps["xx"], maps["xy"], maps["yy"])
        else:  # structure
            result += _structure(b, x, sigma, t)
    return result


def _structure(b: _Builder, x: str, sigma: float, truncate: float) -> tuple[str, str]:
    """Structure tensor eigenvalues: derivatives at sigma / 2, products smoothed at sigma."""
    d0, d1 = (gaussian_kernel(sigma / 2, order, truncate) for order in (0, 1))
    grads = b.separable(x, [(d1, d0), (d0, d1)], groups=1)
    gx, gy = b.channel(grads, 0), b.channel(grads, 1)
    products = b.op(
        "Concat", [b.op("Mul", [gx, gx]), b.op("Mul", [gx, gy]), b.op("Mul", [gy, gy])], axis=1
    )
    g = gaussian_kernel(sigma, 0, truncate)
    smooth = b.separable(products, [(g, g)], groups=3)
    return b.eigenvalues(b.channel(smooth, 0), b.channel(smooth, 1), b.channel(smooth, 2))


def feature_graph(spec: FeatureSpec, bands: int) -> onnx.ModelProto:
    """The ONNX model computing ``spec``'s features of a ``bands``-band input."""
    from onnx import TensorProto, helper

    if bands < 1:
        raise ValueError(f"an image has at least one band, got {bands}")
    b = _Builder()
    finite = b.op("Not", [b.op("Or", [b.op("IsNaN", [INPUT]), b.op("IsInf", [INPUT])])])
    zero = b.const(np.array(0.0, np.float32), "zero")
    clean = b.op("Where", [finite, INPUT, zero])
    folded = b.op("Reshape", [clean, b.const(np.array([-1, 1, 0, 0], np.int64), "shape")])
    maps: list[str] = []
    if spec.fine is not None:
        g = gaussian_kernel(spec.fine, 0, spec.truncate)
        maps.append(b.separable(folded, [(g, g)], groups=1))
    for sigma in spec.sigmas:
        maps += _scale_features(b, folded, sigma, spec)
    stacked = b.op("Concat", maps, axis=1) if len(maps) > 1 else maps[0]
    per_band = spec.per_band
    assert len(maps) == per_band
    shape = b.const(np.array([-1, bands * per_band, 0, 0], np.int64), "shape")
    b.nodes.append(helper.make_node("Reshape", [stacked, shape], [FEATURES]))
    graph = helper.make_graph(
        b.nodes,
        "tessera_pixel_features",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", bands, "H", "W"])],
        [
            helper.make_tensor_value_info(
                FEATURES, TensorProto.FLOAT, ["N", bands * per_band, "H", "W"]
            )
        ],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model
