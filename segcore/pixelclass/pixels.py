"""Reading windows for the pixel classifier: nodata, normalisation, band statistics.

A pixel is *nodata* by the engine's and training's one rule
(:mod:`segcore.io.validity`: NaN or infinite, the file's nodata value, alpha 0,
the file's mask band). Nodata pixels never enter the band
statistics or the training samples; before the filters they hold 0, the
normalised band mean, so they pull no feature towards an extreme.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from segcore.io.source import ImageSource
from segcore.io.validity import read_invalid
from segcore.labels.box import Box
from segcore.models.meta import Normalization

STATS_WHOLE_PIXELS = 4_000_000  # images up to this size are measured whole
STATS_BLOCKS = 32  # larger ones on this many labelled blocks
ROWS = 512  # rows per read when measuring a whole image


def invalid_mask(raw: np.ndarray, source: ImageSource, box: Box) -> np.ndarray:
    """(h, w) bool: the nodata pixels of level-0 ``box`` of ``source``, read as ``raw``.

    The engine's and training's rule (:mod:`segcore.io.validity`): NaN, the
    nodata value, alpha 0 and the file's mask band.
    """
    bad = read_invalid(source, raw, 0, box.x, box.y)
    return np.zeros(raw.shape[:2], bool) if bad is None else bad


def read_raw(source: ImageSource, box: Box) -> np.ndarray:
    """Level-0 pixels of ``box`` (inside the image) as (h, w, bands)."""
    raw = np.asarray(source.read_region(0, box.x, box.y, box.w, box.h))
    return raw[..., None] if raw.ndim == 2 else raw


def normalise(raw: np.ndarray, invalid: np.ndarray, norm: Normalization) -> np.ndarray:
    """Model input: ``(pixel / scale - mean) / std`` as float32, 0 at nodata pixels."""
    mean = np.asarray(norm.mean, np.float64)
    std = np.asarray(norm.std, np.float64)
    mul = (1.0 / (norm.scale * std)).astype(np.float32)
    add = (-mean / std).astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        out = raw.astype(np.float32) * mul + add
    out[invalid] = 0.0
    return out


def with_halo(box: Box, halo: int, width: int, height: int) -> Box:
    """``box`` grown by ``halo`` on every side, clipped to the image.

    Clipping (not mirroring) keeps the graph's own edge padding at the image
    edge, exactly where the engine's exact tiles and a whole-image pass have it.
    """
    return box.pad(halo).clip(width, height)


def band_stats(sources: Sequence[ImageSource], blocks: Sequence[tuple[int, Box]]) -> Normalization:
    """Per-band mean and std over the valid pixels (scale 1).

    Images up to :data:`STATS_WHOLE_PIXELS` are measured whole, larger ones on
    up to :data:`STATS_BLOCKS` of the labelled ``blocks`` (image index, box).
    """
    bands = sources[0].band_count
    total = np.zeros(bands)
    squares = np.zeros(bands)
    count = 0
    for source, box in _stat_windows(sources, blocks):
        raw = read_raw(source, box)
        valid = ~invalid_mask(raw, source, box)
        pixels = raw[valid].astype(np.float64)
        total += pixels.sum(axis=0)
        squares += (pixels * pixels).sum(axis=0)
        count += len(pixels)
    if count == 0:
        return Normalization(mean=(0.0,) * bands, std=(1.0,) * bands, scale=1.0)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
    std = np.where(std > 1e-6 * np.maximum(np.abs(mean), 1.0), std, 1.0)
    return Normalization(
        mean=tuple(float(v) for v in mean), std=tuple(float(v) for v in std), scale=1.0
    )


def _stat_windows(
    sources: Sequence[ImageSource], blocks: Sequence[tuple[int, Box]]
) -> Iterator[tuple[ImageSource, Box]]:
    for index, source in enumerate(sources):
        if source.width * source.height <= STATS_WHOLE_PIXELS:
            for y in range(0, source.height, ROWS):
                yield source, Box(0, y, source.width, min(ROWS, source.height - y))
            continue
        own = [box for i, box in blocks if i == index]
        step = max(1, len(own) // STATS_BLOCKS)
        for box in own[::step][:STATS_BLOCKS]:
            yield source, box
