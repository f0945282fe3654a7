"""Group an instance model's dense maps into objects by seeded watershed.

Seeds are the connected parts of the pixels that are foreground, well inside
an object (normalised distance above ``seed``) and not on a boundary; each
seed floods the foreground (scikit-image's watershed on the negated distance
map), so touching objects are split along the valley between their centres.
Foreground parts that no seed reaches become objects of their own. Everything
here is local: an object depends only on the maps within its own extent (and
its seeds'), which is what lets :mod:`segcore.engine.instances` group tile by
tile and still get the whole-image objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.models.instance import BOUNDARY, DENSE, DISTANCE, FOREGROUND


@dataclass(frozen=True)
class Grouping:
    """How dense maps become objects (probabilities in 0..1, areas in pixels).

    Attributes
    ----------
    foreground
        A pixel is foreground above this probability.
    boundary
        Seed pixels have a boundary probability below this.
    seed
        Seed pixels have a normalised distance probability above this.
    min_area
        Objects smaller than this are dropped (noise).
    max_object
        The largest object side the tiled job must keep whole: the halo added to
        the model's receptive field (None: the model's ``extra.instance.max_object``,
        else :data:`segcore.models.instance.DEFAULT_MAX_OBJECT`).
    """

    foreground: float = 0.5
    boundary: float = 0.5
    seed: float = 0.5
    min_area: int = 8
    max_object: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"foreground": self.foreground, "boundary": self.boundary, "seed": self.seed,
                "min_area": self.min_area, "max_object": self.max_object}  # fmt: skip

    @staticmethod
    def from_json(data: dict[str, Any]) -> Grouping:
        """The grouping a model file names (``extra.instance``); defaults where absent."""
        base = Grouping()
        saved = dict(data.get("grouping", {}))
        top = data.get("max_object", saved.get("max_object"))
        return Grouping(
            foreground=float(saved.get("foreground", base.foreground)),
            boundary=float(saved.get("boundary", base.boundary)),
            seed=float(saved.get("seed", base.seed)),
            min_area=int(saved.get("min_area", base.min_area)),
            max_object=None if top is None else int(top),
        )


@dataclass(frozen=True)
class Objects:
    """Objects of one window: ``labels`` (h, w) int32, 0 = none, 1..n; per object
    (index k for label k + 1) its class, score (mean foreground probability)
    and raster-order first pixel ``anchor`` (row, col) in the window."""

    labels: NDArray[np.int32]
    classes: NDArray[np.int64]
    scores: NDArray[np.float64]
    anchors: NDArray[np.int64]

    @property
    def count(self) -> int:
        return len(self.scores)


def sigmoid(x: NDArray[Any]) -> NDArray[np.float32]:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), np.float32)


def group(
    dense: NDArray[np.float32],
    *,
    valid: NDArray[np.bool_] | None = None,
    classes: int = 2,
    options: Grouping | None = None,
) -> Objects:
    """Objects from dense logits shaped (channels, h, w) (see :mod:`segcore.models.instance`).

    ``valid`` False pixels (nodata, outside the image) are never foreground.
    With ``classes`` > 2 the channels after the three dense maps are class
    logits; with 2, every object has class 1.
    """
    from scipy import ndimage
    from skimage.segmentation import watershed

    opts = options or Grouping()
    if dense.shape[0] < len(DENSE):
        raise ValueError(f"need {len(DENSE)} dense channels, got {dense.shape[0]}")
    fg_prob = sigmoid(dense[FOREGROUND])
    fg = fg_prob > opts.foreground
    if valid is not None:
        fg &= valid
    dist = sigmoid(dense[DISTANCE])
    seeds = fg & (dist > opts.seed) & (sigmoid(dense[BOUNDARY]) < opts.boundary)
    structure = np.ones((3, 3), bool)
    markers, n = ndimage.label(seeds, structure=structure)
    labels = (
        watershed(-dist, markers, mask=fg, connectivity=2)  # type: ignore[no-untyped-call]
        if n
        else np.zeros_like(markers)
    )
    rest, extra = ndimage.label(fg & (labels == 0), structure=structure)
    if extra:
        labels = np.where(rest > 0, rest + n, labels)
    labels = _drop_small(labels.astype(np.int32), opts.min_area)
    return _describe(labels, fg_prob, dense, classes)


def _drop_small(labels: NDArray[np.int32], min_area: int) -> NDArray[np.int32]:
    """Remove objects below ``min_area`` and number the rest 1..n in raster order of anchors."""
    flat = labels.ravel()
    count = int(flat.max(initial=0))
    if count == 0:
        return labels
    areas = np.bincount(flat, minlength=count + 1)
    first = np.full(count + 1, flat.size, np.int64)
    np.minimum.at(first, flat, np.arange(flat.size))
    keep = np.flatnonzero(areas[1:] >= min_area) + 1
    order = keep[np.argsort(first[keep], kind="stable")]
    lut = np.zeros(count + 1, np.int32)
    lut[order] = np.arange(1, len(order) + 1, dtype=np.int32)
    return lut[labels]


def _describe(
    labels: NDArray[np.int32],
    fg_prob: NDArray[np.float32],
    dense: NDArray[np.float32],
    classes: int,
) -> Objects:
    flat = labels.ravel()
    n = int(flat.max(initial=0))
    w = labels.shape[1]
    first = np.full(n + 1, flat.size, np.int64)
    np.minimum.at(first, flat, np.arange(flat.size))
    anchors = np.stack([first[1:] // w, first[1:] % w], axis=1)
    areas = np.bincount(flat, minlength=n + 1)[1:].astype(np.float64)
    sums = np.bincount(flat, weights=fg_prob.ravel(), minlength=n + 1)[1:]
    scores = sums / np.maximum(areas, 1)
    if classes > 2 and n:
        means = np.stack(
            [
                np.bincount(flat, weights=dense[len(DENSE) + c].ravel(), minlength=n + 1)[1:]
                for c in range(1, classes)
            ]
        )
        cls = np.argmax(means, axis=0).astype(np.int64) + 1  # class 0 is the background
    else:
        cls = np.ones(n, np.int64)
    return Objects(labels, cls, scores, anchors.reshape(n, 2).astype(np.int64))
