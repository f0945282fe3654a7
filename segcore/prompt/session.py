"""Clicks and boxes on one image -> mask candidates, through cached window embeddings.

A :class:`PromptSession` holds an image, an opened pair and the embedding
cache. The app asks it for the window matching the view (encoded in the
background as soon as the view settles), then for each prompt calls
:meth:`PromptSession.window_for` (the same window unless a prompt lies near
an inner edge: then a window re-centred on the prompts) and
:meth:`PromptSession.predict` (milliseconds once the window is embedded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segcore.errors import LabelError
from segcore.io.source import ImageSource
from segcore.labels.box import Box
from segcore.models.sam.runtime import Embedding, Prompt, PromptModel
from segcore.prompt.embeddings import EmbeddingCache, image_key
from segcore.prompt.geometry import Levels, Window, check_inside, choose_level, window_at

STRETCH = (1.0, 99.0)  # percentiles of the thumbnail mapped to 0 and 255 (non-8-bit images)


@dataclass(frozen=True)
class Prompts:
    """Prompts in level-0 positions: ``points`` (x, y, label: 1 object, 0 background)
    and an optional ``box`` (x0, y0, x1, y1)."""

    points: tuple[tuple[float, float, int], ...] = ()
    box: tuple[float, float, float, float] | None = None

    def positions(self) -> list[tuple[float, float]]:
        out = [(x, y) for x, y, _ in self.points]
        if self.box is not None:
            out += [(self.box[0], self.box[1]), (self.box[2], self.box[3])]
        return out

    def add(self, x: float, y: float, label: int) -> Prompts:
        return Prompts((*self.points, (x, y, label)), self.box)


@dataclass(frozen=True)
class Prediction:
    """Mask candidates on one window, in the order the user should see them."""

    window: Window
    masks: np.ndarray  # (C, h, w) bool, window pixels
    scores: np.ndarray  # (C,) predicted IoU
    low_res: np.ndarray | None = field(default=None, repr=False)  # (C, 4E, 4E) to feed back

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    def cut_off(self, choice: int, levels: Levels) -> bool:
        """Whether candidate ``choice`` reaches an edge of the window that is not the
        image's edge: the object probably goes on beyond what the encoder saw."""
        m, w = self.masks[choice], self.window
        lw, lh = levels.sizes[w.level]
        return bool(
            (w.x > 0 and m[:, 0].any())
            or (w.y > 0 and m[0, :].any())
            or (w.x + w.w < lw and m[:, -1].any())
            or (w.y + w.h < lh and m[-1, :].any())
        )


def levels_of(source: ImageSource) -> Levels:
    return Levels(tuple(source.level_size(k) for k in range(len(source.level_downsamples))))


class PromptSession:
    """One image with one promptable model (thread-safe where said)."""

    def __init__(
        self, source: ImageSource, model: PromptModel, *, cache: EmbeddingCache | None = None
    ) -> None:
        self.source, self.model = source, model
        self.levels = levels_of(source)
        self.size = model.meta.input_size
        self.cache = cache or EmbeddingCache(
            image_key(source.path, self.levels), model.meta.encoder_digest
        )
        self._stretch = _stretch(source)

    # -- windows --------------------------------------------------------------------

    def window_for_view(self, view: Box) -> Window:
        """The window of the level matching ``view`` (level-0 box), centred on it."""
        level = choose_level(self.levels, view, self.size)
        return window_at(self.levels, level, view.x + view.w / 2, view.y + view.h / 2, self.size)

    def window_for(self, prompts: Prompts, current: Window) -> Window:
        """``current`` if every prompt lies well inside it, else a window of the same
        level re-centred on the prompts' bounding box."""
        spots = prompts.positions()
        check_inside(self.levels, spots)
        if all(not current.near_inner_edge(x, y, self.levels) for x, y in spots):
            return current
        xs, ys = [p[0] for p in spots], [p[1] for p in spots]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        return window_at(self.levels, current.level, cx, cy, self.size)

    # -- embeddings -----------------------------------------------------------------

    def cached(self, window: Window) -> Embedding | None:
        return self.cache.get(window)

    def embed(self, window: Window) -> Embedding:
        """The window's embedding: from the cache, or encoded now and cached (seconds)."""
        found = self.cache.get(window)
        if found is not None:
            return found
        embedding = self.model.encode(self.pixels(window))
        self.cache.put(window, embedding)
        return embedding

    def pixels(self, window: Window) -> np.ndarray:
        """The window as 8-bit-range RGB float32, resized by ``window.scale``."""
        data = np.asarray(
            self.source.read_region(window.level, window.x, window.y, window.w, window.h)
        )
        if data.ndim == 2:
            data = data[..., None]
        rgb = data[..., :3] if data.shape[2] >= 3 else np.repeat(data[..., :1], 3, axis=2)
        lo, hi = self._stretch
        out: np.ndarray = np.clip((rgb.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255)
        if window.scale != 1.0:
            import cv2

            side = (round(window.w * window.scale), round(window.h * window.scale))
            side = (min(side[0], self.size), min(side[1], self.size))
            out = np.asarray(cv2.resize(out, side, interpolation=cv2.INTER_LINEAR), np.float32)
        return out

    # -- prompts -> masks -----------------------------------------------------------

    def predict(
        self, window: Window, embedding: Embedding, prompts: Prompts,
        previous: np.ndarray | None = None,
    ) -> Prediction:  # fmt: skip
        """Mask candidates for ``prompts`` on ``window`` (milliseconds: decoder only).

        ``previous`` is the low-resolution logits of the mask chosen last on the
        same window, fed back for refinement.
        """
        spots = prompts.positions()
        if not spots:
            raise LabelError("give at least one point or a box")
        check_inside(self.levels, spots)
        pts = [window.to_input(x, y) for x, y, _ in prompts.points]
        box = None
        if prompts.box is not None:
            x0, y0 = window.to_input(prompts.box[0], prompts.box[1])
            x1, y1 = window.to_input(prompts.box[2], prompts.box[3])
            box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        decoded = self.model.decode(
            embedding,
            Prompt(
                points=np.asarray(pts, np.float32).reshape(-1, 2),
                labels=np.asarray([lab for _, _, lab in prompts.points], np.int64),
                box=box,
                mask=previous,
            ),
        )
        order = _order(decoded.scores, single_click=len(prompts.points) == 1 and box is None,
                       tokens=decoded.logits.shape[0], layout=self.model.layout.name)  # fmt: skip
        masks = self._to_window(decoded.logits[order], window)
        low = None if decoded.low_res is None else decoded.low_res[order]
        return Prediction(window, masks, decoded.scores[order], low)

    def _to_window(self, logits: np.ndarray, window: Window) -> np.ndarray:
        """(C, R, R) logits over the encoder input -> (C, h, w) masks in window pixels."""
        import cv2

        r = logits.shape[-1]
        k = r / self.size * window.scale  # logit pixels per window pixel
        cw, ch = min(r, max(1, round(window.w * k))), min(r, max(1, round(window.h * k)))
        out = np.empty((logits.shape[0], window.h, window.w), bool)
        for i, cand in enumerate(logits):
            up = cv2.resize(cand[:ch, :cw], (window.w, window.h), interpolation=cv2.INTER_LINEAR)
            out[i] = up > 0.0
        return out


def _order(scores: np.ndarray, *, single_click: bool, tokens: int, layout: str) -> np.ndarray:
    """Candidates best-first: for one click SAM's three multi-mask outputs (by predicted
    IoU) come first, for several prompts its single-mask output (token 0) does."""
    if layout == "efficientsam" or tokens < 4:
        return np.argsort(-scores, kind="stable")
    multi = 1 + np.argsort(-scores[1:], kind="stable")
    return np.concatenate([multi, [0]]) if single_click else np.concatenate([[0], multi])


def _stretch(source: ImageSource) -> tuple[float, float]:
    """(low, high) pixel values mapped to 0 and 255: identity for 8-bit images."""
    if np.dtype(source.dtype) == np.uint8:
        return 0.0, 255.0
    thumb = np.asarray(source.thumbnail(512), np.float64)
    finite = thumb[np.isfinite(thumb)]
    if finite.size == 0:
        return 0.0, 255.0
    lo, hi = (float(v) for v in np.percentile(finite, STRETCH))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)
