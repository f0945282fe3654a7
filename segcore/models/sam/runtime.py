"""Running a pair with onnxruntime: the encoder on one window, the decoder per prompt.

The CUDA provider is used when onnxruntime has it; a GPU that cannot hold the
encoder (out of memory) or a CUDA provider that fails to start falls back to
the CPU, and :attr:`PromptModel.device_note` says so in one line.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from segcore.errors import ModelError
from segcore.models.sam.layout import LAYOUTS, Layout
from segcore.models.sam.pair import Pair

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
Embedding = dict[str, np.ndarray]


@dataclass(frozen=True)
class Prompt:
    """Clicks and an optional box, in encoder-input pixels (pixel centres on integers).

    ``labels``: 1 positive, 0 negative. ``mask`` is the previous low-resolution
    logits (4E x 4E) fed back for refinement, when the layout takes one.
    """

    points: np.ndarray  # (n, 2) float x, y
    labels: np.ndarray  # (n,) int
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class Decoded:
    """Mask candidates over the encoder's square input, best-first order not implied.

    ``logits`` (C, R, R) cover the whole S x S input (R = S or 4E); ``scores``
    (C,) the predicted IoU; ``low_res`` (C, 4E, 4E) to feed back, or None.
    """

    logits: np.ndarray
    scores: np.ndarray
    low_res: np.ndarray | None


def _providers() -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [CUDA, CPU] if CUDA in available else [CPU]


class PromptModel:
    """An opened pair; ``encode`` and ``decode`` are safe to call from one thread at a time
    each (the app encodes in a worker while the GUI thread decodes)."""

    def __init__(self, pair: Pair, *, providers: list[str] | None = None) -> None:
        self.pair, self.meta = pair, pair.meta
        self.layout: Layout = next(lay for lay in LAYOUTS if lay.name == pair.meta.layout)
        self.device_note = ""
        self._lock = threading.Lock()
        wanted = providers or _providers()
        self._encoder = self._session(pair.encoder, wanted)
        if CUDA in wanted and self.device == "cpu" and not self.device_note:
            self.device_note = "onnxruntime has no working CUDA provider here; encoding on CPU"
        self._decoder = self._session(pair.decoder, [CPU])  # milliseconds: no transfers
        self._dec_inputs = {i.name for i in self._decoder.get_inputs()}
        self._dec_outputs = [o.name for o in self._decoder.get_outputs()]

    @property
    def device(self) -> str:
        return "cuda" if CUDA in self._encoder.get_providers() else "cpu"

    def _session(self, path: Any, providers: list[str]) -> Any:
        import onnxruntime as ort

        try:
            return ort.InferenceSession(str(path), providers=providers)
        except Exception as exc:
            if providers != [CPU]:
                self.device_note = f"CUDA could not load {path.name} ({_first_line(exc)}); on CPU"
                return self._session(path, [CPU])
            raise ModelError(f"{path}: onnxruntime cannot load it ({_first_line(exc)})") from exc

    # -- encoder ----------------------------------------------------------------------

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        """(h, w, 3) RGB with h, w <= S -> (1, 3, S, S) float32, padded right and bottom."""
        s, m = self.meta.input_size, self.meta
        h, w = pixels.shape[:2]
        if h > s or w > s or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ModelError(f"encoder input must be (<= {s}, <= {s}, 3), got {pixels.shape}")
        mean = np.asarray(m.mean, np.float32) * np.float32(m.scale)
        std = np.asarray(m.std, np.float32) * np.float32(m.scale)
        x = (np.asarray(pixels, np.float32) - mean) / std
        out = np.zeros((1, 3, s, s), np.float32)
        out[0, :, :h, :w] = x.transpose(2, 0, 1)
        return out

    def encode(self, pixels: np.ndarray) -> Embedding:
        """Embedding of one window (see :meth:`normalise` for ``pixels``)."""
        feed = {self.layout.encoder_input: self.normalise(pixels)}
        names = list(self.layout.embeddings)
        with self._lock:
            try:
                values = self._encoder.run(names, feed)
            except Exception as exc:
                if self.device != "cuda" or not _out_of_memory(exc):
                    raise ModelError(
                        f"{self.pair.encoder}: encoder failed ({_first_line(exc)})"
                    ) from exc
                self.device_note = "the GPU ran out of memory for the encoder; encoding on CPU"
                self._encoder = self._session(self.pair.encoder, [CPU])
                values = self._encoder.run(names, feed)
        return {n: np.ascontiguousarray(v, np.float32) for n, v in zip(names, values, strict=True)}

    # -- decoder ----------------------------------------------------------------------

    def decode(self, embedding: Embedding, prompt: Prompt) -> Decoded:
        """Mask candidates for ``prompt`` on a window's ``embedding``."""
        lay, s = self.layout, self.meta.input_size
        points = np.asarray(prompt.points, np.float32).reshape(-1, 2)
        labels = np.asarray(prompt.labels, np.float32).reshape(-1)
        if prompt.box is not None:
            x0, y0, x1, y1 = prompt.box
            points = np.concatenate([points, [[x0, y0], [x1, y1]]]).astype(np.float32)
            labels = np.concatenate([labels, [2.0, 3.0]]).astype(np.float32)
        feed: dict[str, np.ndarray] = {n: embedding[n] for n in lay.embeddings}
        if lay.name == "efficientsam":
            feed["batched_point_coords"] = points[None, None]
            feed["batched_point_labels"] = labels[None, None]
            feed["orig_im_size"] = np.array([s, s], np.int64)
        else:
            if prompt.box is None:  # SAM's padding point: no box
                points = np.concatenate([points, [[0.0, 0.0]]]).astype(np.float32)
                labels = np.concatenate([labels, [-1.0]]).astype(np.float32)
            side = 4 * embedding[lay.embeddings[-1]].shape[-1]
            has_mask = prompt.mask is not None and lay.mask_prompt
            feed["point_coords"], feed["point_labels"] = points[None], labels[None]
            feed["mask_input"] = (
                np.asarray(prompt.mask, np.float32).reshape(1, 1, side, side)
                if has_mask
                else np.zeros((1, 1, side, side), np.float32)
            )
            feed["has_mask_input"] = np.array([1.0 if has_mask else 0.0], np.float32)
            if "orig_im_size" in self._dec_inputs:
                # A square "original" crops nothing; at 4E px the official decoder's last
                # resize shrinks its masks back to the low-resolution grid (one 1024-px pass
                # fewer). Tessera's own export skips both resizes.
                feed["orig_im_size"] = np.array([side, side], np.float32)
        out = dict(zip(self._dec_outputs, self._decoder.run(None, feed), strict=True))
        logits = np.asarray(out[lay.masks], np.float32)
        logits = logits.reshape(-1, *logits.shape[-2:])
        scores = np.asarray(out[lay.scores], np.float32).reshape(-1)
        low = out.get(lay.low_res) if lay.low_res else None
        low_res = None if low is None else np.asarray(low, np.float32).reshape(-1, *low.shape[-2:])
        if low_res is not None and low_res.shape[-1] < logits.shape[-1]:
            logits = low_res  # the low-resolution logits cover the same square, 16x cheaper
        return Decoded(logits, scores, low_res)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "out of memory" in text or "failed to allocate" in text or "bfcarena" in text
