"""The JSON sidecar of an encoder + decoder pair, and opening a pair from its files.

A registered pair is a folder::

    encoder.onnx   decoder.onnx   sam.json

``sam.json`` holds :class:`PairMeta`: ``kind`` ("promptable"), the variant,
layout, encoder input size, normalisation, licence, source URL, the shape of
each embedding output, and a digest of the encoder (embeddings cached for one
encoder are never used with another).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from segcore.errors import ModelError
from segcore.models.sam.layout import GraphIO, detect, input_size
from segcore.models.sam.variants import get_variant

KIND = "promptable"
SIDECAR = "sam.json"
ENCODER, DECODER = "encoder.onnx", "decoder.onnx"


@dataclass(frozen=True)
class PairMeta:
    """What the app and the cache need to know about a pair, without opening it."""

    variant: str
    layout: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float  # pixels are divided by this before (x - mean) / std
    licence: str
    source: str
    embeddings: dict[str, tuple[int, ...]]  # encoder output -> shape for one window
    encoder_digest: str
    kind: str = KIND

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["embeddings"] = {k: list(v) for k, v in self.embeddings.items()}
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> PairMeta:
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise ModelError(f"{where}: not a promptable model sidecar (kind must be {KIND!r})")
        try:
            return cls(
                variant=str(data["variant"]),
                layout=str(data["layout"]),
                input_size=int(data["input_size"]),
                mean=_three(data["mean"]),
                std=_three(data["std"]),
                scale=float(data["scale"]),
                licence=str(data["licence"]),
                source=str(data["source"]),
                embeddings={
                    str(k): tuple(int(d) for d in v) for k, v in data["embeddings"].items()
                },
                encoder_digest=str(data["encoder_digest"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{where}: bad promptable model sidecar ({exc!r}); add it again"
            ) from exc


def _three(value: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in value)
    return a, b, c


def digest(path: Path) -> str:
    """sha256 (first 32 hex digits) of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:32]


def describe(variant: str, encoder: Path, decoder: Path) -> PairMeta:
    """Check a pair against its variant and describe it (reads both graphs).

    Embedding shapes come from running nothing: the encoder graph's output
    shapes, which every known export fixes.
    """
    spec = get_variant(variant)
    for path in (encoder, decoder):
        if not path.is_file():
            raise ModelError(f"{path}: no such file; give the exported .onnx file")
    layout, enc, dec = detect(encoder, decoder)
    if layout.name != spec.layout:
        raise ModelError(
            f"{encoder.name} + {decoder.name}: a {layout.name} pair, but variant "
            f"{variant!r} is a {spec.layout} model; pick the matching --variant"
        )
    size = input_size(enc, spec.input_size)
    shapes: dict[str, tuple[int, ...]] = {}
    for name in layout.embeddings:
        shape = enc.outputs[name]
        if not all(isinstance(d, int) and d > 0 for d in shape[1:]):
            shapes = _run_once(encoder, layout.encoder_input, layout.embeddings, size)
            break
        shapes[name] = (1, *(int(d) for d in shape[1:]))
    check_decoder(decoder, shapes, dec)
    return PairMeta(
        variant=variant,
        layout=layout.name,
        input_size=size,
        mean=spec.mean,
        std=spec.std,
        scale=spec.scale,
        licence=spec.licence,
        source=spec.source,
        embeddings=shapes,
        encoder_digest=digest(encoder),
    )


def _run_once(
    encoder: Path, input_name: str, outputs: tuple[str, ...], size: int
) -> dict[str, tuple[int, ...]]:
    """Embedding shapes measured by encoding one blank window (symbolic graph shapes)."""
    import numpy as np
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(encoder), providers=["CPUExecutionProvider"])
        values = session.run(list(outputs), {input_name: np.zeros((1, 3, size, size), np.float32)})
    except Exception as exc:
        raise ModelError(f"{encoder}: the encoder does not run ({str(exc)[:160]})") from exc
    return {n: tuple(int(d) for d in v.shape) for n, v in zip(outputs, values, strict=True)}


def check_decoder(decoder: Path, shapes: dict[str, tuple[int, ...]], dec: GraphIO) -> None:
    """The decoder's embedding inputs must have the encoder's shapes (fixed axes)."""
    for name, want in shapes.items():
        got = dec.inputs[name]
        if len(got) != len(want) or any(
            isinstance(g, int) and g != w for g, w in zip(got[1:], want[1:], strict=True)
        ):
            shown = "(" + ", ".join(str(d) for d in got) + ")"
            raise ModelError(
                f"{decoder}: decoder does not match the encoder ({name} is {shown} in the "
                f"decoder, {want} from the encoder); use the decoder exported with this encoder"
            )


@dataclass(frozen=True)
class Pair:
    """A registered pair: its folder, files and metadata."""

    name: str
    folder: Path
    meta: PairMeta

    @property
    def encoder(self) -> Path:
        return self.folder / ENCODER

    @property
    def decoder(self) -> Path:
        return self.folder / DECODER


def open_pair(folder: Path) -> Pair:
    """The pair registered in ``folder`` (its sidecar read, its files present)."""
    side = folder / SIDECAR
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{side}: cannot read the pair's sidecar ({exc}); add the pair again"
        ) from exc
    meta = PairMeta.from_json(data, str(side))
    pair = Pair(folder.name, folder, meta)
    for path in (pair.encoder, pair.decoder):
        if not path.is_file():
            raise ModelError(f"{path} is missing; add the pair again")
    return pair
