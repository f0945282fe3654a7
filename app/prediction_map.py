"""The prediction layer: class map and confidence of a model run, filled as tiles arrive.

:class:`PredictionMap` is a label reader (:class:`segcore.labels.reader.LabelReader`)
with one more layer, ``"confidence"``, so the canvas overlays, the Metrics dock
and the annotation tools read it like the user's labels. Overviews are
nearest-neighbour: pixel (i, j) of level k is pixel (i * 2**k, j * 2**k) of
level 0, which a write can update exactly without reading anything back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segcore.labels.overviews import level_sizes
from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo

# Confidence is the engine's uint8 score, 255 x top softmax probability; that is at
# least 255 / classes > 0, so 0 is free to mean "no prediction here".
NO_SCORE = 0
FILLS = {"semantic": UNLABELLED, "instance": NO_INSTANCE, "confidence": NO_SCORE}
DTYPES = {"semantic": np.uint8, "instance": np.uint32, "confidence": np.uint8}


class _SparseLevel:
    """One level of one layer as a dict of fixed-size chunks; absent chunks are fill."""

    CHUNK = 256

    def __init__(self, dtype: type, fill: float) -> None:
        self.dtype, self.fill = dtype, fill
        self.chunks: dict[tuple[int, int], np.ndarray] = {}

    def write(self, x: int, y: int, values: np.ndarray) -> None:
        c = self.CHUNK
        h, w = values.shape
        for cy in range(y // c, (y + h - 1) // c + 1):
            for cx in range(x // c, (x + w - 1) // c + 1):
                chunk = self.chunks.get((cy, cx))
                if chunk is None:
                    chunk = self.chunks[(cy, cx)] = np.full((c, c), self.fill, self.dtype)
                x0, y0 = max(x, cx * c), max(y, cy * c)
                x1, y1 = min(x + w, (cx + 1) * c), min(y + h, (cy + 1) * c)
                chunk[y0 - cy * c : y1 - cy * c, x0 - cx * c : x1 - cx * c] = values[
                    y0 - y : y1 - y, x0 - x : x1 - x
                ]

    def read(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        c = self.CHUNK
        out: np.ndarray = np.full((h, w), self.fill, self.dtype)
        for cy in range(max(y, 0) // c, max(y + h - 1, 0) // c + 1):
            for cx in range(max(x, 0) // c, max(x + w - 1, 0) // c + 1):
                chunk = self.chunks.get((cy, cx))
                if chunk is None:
                    continue
                x0, y0 = max(x, cx * c), max(y, cy * c)
                x1, y1 = min(x + w, (cx + 1) * c), min(y + h, (cy + 1) * c)
                if x1 > x0 and y1 > y0:
                    out[y0 - y : y1 - y, x0 - x : x1 - x] = chunk[
                        y0 - cy * c : y1 - cy * c, x0 - cx * c : x1 - cx * c
                    ]
        return out

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self.chunks.values())


class PredictionMap:
    """Class map and confidence of a model run, filled tile by tile as results stream in.

    Only chunks a run has touched take memory (a run on the visible area or a
    drawn rectangle costs what that area costs).
    """

    layers = ("semantic", "confidence")

    def __init__(self, width: int, height: int, classes: Sequence[ClassInfo] = ()) -> None:
        self.width, self.height = width, height
        self.classes = tuple(classes)
        self._sizes = level_sizes(width, height)
        self._levels = {
            name: [_SparseLevel(DTYPES[name], FILLS[name]) for _ in self._sizes]
            for name in self.layers
        }

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return tuple(float(2**k) for k in range(len(self._sizes)))

    def level_size(self, level: int) -> tuple[int, int]:
        return self._sizes[level]

    @property
    def nbytes(self) -> int:
        return sum(lv.nbytes for levels in self._levels.values() for lv in levels)

    def write(self, x: int, y: int, classes: np.ndarray, confidence: np.ndarray | None) -> None:
        """Store a level-0 window of classes and confidence (uint8, 255 = certain) at (x, y)."""
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + classes.shape[1], self.width), min(y + classes.shape[0], self.height)
        if x1 <= x0 or y1 <= y0:
            return
        values = {"semantic": classes.astype(np.uint8)}
        if confidence is not None:
            # 0 is "no prediction": nodata (UNLABELLED) stays transparent in the
            # Uncertainty layer instead of showing as the least certain pixel.
            score = np.maximum(confidence, 1).astype(np.uint8)
            score[classes == UNLABELLED] = NO_SCORE
            values["confidence"] = score
        for name, arr in values.items():
            arr = arr[y0 - y : y1 - y, x0 - x : x1 - x]
            for k, level in enumerate(self._levels[name]):
                s = 2**k
                # First level-k pixel whose level-0 sample lies inside the window.
                i0, j0 = -(-x0 // s), -(-y0 // s)
                sub = arr[j0 * s - y0 :: s, i0 * s - x0 :: s]
                if sub.size:
                    level.write(i0, j0, sub)

    def read(self, layer: str, x: int, y: int, w: int, h: int, *, level: int = 0) -> np.ndarray:
        levels = self._levels.get(layer)
        if levels is None:  # a prediction has no instances
            return np.full((h, w), FILLS[layer], DTYPES[layer])
        return levels[level].read(x, y, w, h)
