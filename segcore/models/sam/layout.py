"""Which ONNX interface an encoder + decoder pair has, read from the graphs.

Three layouts are known, by their input and output names:

* ``sam`` (SAM ViT-B/L/H, MobileSAM; ``segment_anything``'s decoder export and
  ``samexporter``): encoder ``input_image`` (1, 3, S, S) -> ``image_embeddings``;
  decoder ``image_embeddings, point_coords, point_labels, mask_input,
  has_mask_input, orig_im_size`` -> ``masks, iou_predictions[, low_res_masks]``.
* ``sam2`` (SAM 2 / 2.1 image models, ``samexporter``): encoder ``image`` ->
  ``high_res_feats_0, high_res_feats_1, image_embed``; decoder takes those
  three and ``point_coords, point_labels, mask_input, has_mask_input`` ->
  low-resolution ``masks, iou_predictions``.
* ``efficientsam`` (the EfficientSAM reference export): decoder
  ``image_embeddings, batched_point_coords, batched_point_labels,
  orig_im_size`` -> ``output_masks, iou_predictions`` (no mask prompt).

Anything else is refused with one line naming the file and what it has.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from segcore.errors import ModelError

Shape = tuple[int | str, ...]  # an int per fixed axis, a name per dynamic one


@dataclass(frozen=True)
class Layout:
    """The names a layout's graphs use."""

    name: str
    encoder_input: str
    embeddings: tuple[str, ...]  # encoder outputs, fed to the decoder by the same names
    decoder_prompts: frozenset[str]  # every other decoder input
    masks: str  # decoder output of mask logits
    scores: str  # decoder output of predicted IoU per candidate
    low_res: str | None  # decoder output of (4E x 4E) logits, when it has one
    mask_prompt: bool  # takes the previous mask as ``mask_input``


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "sam", "input_image", ("image_embeddings",),
        frozenset({"point_coords", "point_labels", "mask_input", "has_mask_input",
                   "orig_im_size"}),
        "masks", "iou_predictions", "low_res_masks", True,
    ),
    Layout(
        "sam2", "image", ("high_res_feats_0", "high_res_feats_1", "image_embed"),
        frozenset({"point_coords", "point_labels", "mask_input", "has_mask_input"}),
        "masks", "iou_predictions", "masks", True,
    ),
    Layout(
        "efficientsam", "batched_images", ("image_embeddings",),
        frozenset({"batched_point_coords", "batched_point_labels", "orig_im_size"}),
        "output_masks", "iou_predictions", None, False,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class GraphIO:
    """Input and output names and shapes of one ONNX graph."""

    inputs: dict[str, Shape]
    outputs: dict[str, Shape]


def graph_io(path: Path) -> GraphIO:
    """Names and shapes of ``path``'s inputs and outputs (weights are not read)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"{path}: not a readable ONNX file ({exc}); export it again") from exc
    init = {t.name for t in model.graph.initializer}
    # The legacy exporter leaves output shapes symbolic; inference fixes most. Where it
    # fails, shapes stay as written and the pair check runs the encoder once instead.
    with contextlib.suppress(Exception):
        model = onnx.shape_inference.infer_shapes(model)

    def shapes(values: object) -> dict[str, Shape]:
        out: dict[str, Shape] = {}
        for v in values:  # type: ignore[attr-defined]
            dims = v.type.tensor_type.shape.dim
            out[v.name] = tuple(
                d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims
            )
        return out

    inputs = {k: s for k, s in shapes(model.graph.input).items() if k not in init}
    return GraphIO(inputs, shapes(model.graph.output))


def detect(encoder: Path, decoder: Path) -> tuple[Layout, GraphIO, GraphIO]:
    """The layout of a pair, checked: the decoder must take what the encoder gives.

    Raises ModelError (one line) for an unknown layout, an encoder exported
    with built-in preprocessing, or a decoder whose embedding shapes differ
    from the encoder's (a decoder of another variant).
    """
    enc, dec = graph_io(encoder), graph_io(decoder)
    layout = next(
        (
            lay
            for lay in LAYOUTS
            if set(lay.embeddings) <= set(enc.outputs)
            and set(lay.embeddings) | lay.decoder_prompts == set(dec.inputs)
            and lay.masks in dec.outputs
        ),
        None,
    )
    if layout is None:
        raise ModelError(
            f"{encoder.name} + {decoder.name}: unknown model pair layout (encoder outputs "
            f"{sorted(enc.outputs)}, decoder inputs {sorted(dec.inputs)}); export the pair "
            "with `tessera models export-sam` or samexporter"
        )
    (input_name,) = enc.inputs if len(enc.inputs) == 1 else (None,)
    shape = enc.inputs.get(input_name or "", ())
    if input_name is None or len(shape) != 4 or shape[1] != 3:
        raise ModelError(
            f"{encoder}: the encoder must take one (1, 3, S, S) image, it takes "
            f"{dict(enc.inputs)}; export it without built-in preprocessing"
        )
    for name in layout.embeddings:
        want, got = enc.outputs[name], dec.inputs[name]
        if len(want) != len(got) or any(
            isinstance(a, int) and isinstance(b, int) and a != b
            for a, b in zip(want, got, strict=True)
        ):
            raise ModelError(
                f"{decoder}: decoder does not match the encoder {encoder.name} ({name} is "
                f"{_fmt(got)} in the decoder, {_fmt(want)} from the encoder); "
                "use the decoder exported with this encoder"
            )
    return layout, enc, dec


def input_size(enc: GraphIO, default: int) -> int:
    """Side of the encoder's square input; ``default`` where the axes are dynamic
    (EfficientSAM's encoder resizes to its own size inside the graph)."""
    (shape,) = enc.inputs.values()
    h, w = shape[2], shape[3]
    if isinstance(h, str) and isinstance(w, str):
        return default
    if not isinstance(h, int) or not isinstance(w, int) or h != w or h <= 0:
        raise ModelError(f"encoder input must be a fixed square (1, 3, S, S), got {_fmt(shape)}")
    return h


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"
