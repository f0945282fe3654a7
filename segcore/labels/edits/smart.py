"""Point-and-click tools that look at the image: magic wand, GrabCut, watershed
from scribbles, superpixel click, and accepting the model's segment.

Each reads one bounded window of the image (level 0) around the click or box,
computes a mask there, and paints it. ``image`` is any
:class:`~segcore.io.source.ImageSource`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from segcore.errors import LabelError
from segcore.io.source import ImageSource
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint, check_seed, paint_mask
from segcore.labels.edits.paint import Point, check_points, segment_mask
from segcore.labels.schema import UNLABELLED
from segcore.labels.store import LabelStore

GRABCUT_SPAN = 256  # box side (px) GrabCut works at; smaller boxes are enlarged
GRABCUT_MAX_SCALE = 8


@dataclass(frozen=True)
class Scribble:
    """A marker line for :func:`watershed_scribbles`; ``paint=None`` marks background."""

    points: Sequence[Point]
    paint: Paint | None


def _read(image: ImageSource, store: LabelStore, window: Box) -> np.ndarray:
    if (image.width, image.height) != (store.width, store.height):
        raise LabelError(
            f"image {image.path} is {image.width}x{image.height} but the labels are "
            f"{store.width}x{store.height}; open the labels of this image"
        )
    data = np.asarray(image.read_region(0, window.x, window.y, window.w, window.h))
    if data.ndim == 2:
        data = data[..., None]
    return data.astype(np.float64)


def _around(store: LabelStore, x: int, y: int, radius: int) -> Box:
    check_seed(store, x, y)
    if radius < 1:
        raise LabelError(f"window radius must be >= 1 pixel, got {radius}")
    return Box(x - radius, y - radius, 2 * radius + 1, 2 * radius + 1).clip(
        store.width, store.height
    )


def _component(mask: np.ndarray, x: int, y: int, connectivity: int) -> np.ndarray:
    """The connected part of ``mask`` holding local pixel (x, y)."""
    from scipy import ndimage

    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    labels, _ = ndimage.label(mask, structure=structure)
    hit = labels[y, x]
    return np.asarray(labels == hit) if hit else np.zeros_like(mask)


def _to_uint8(data: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 of the first three bands, each stretched over its 1-99 % range."""
    bands = data[..., :3] if data.shape[2] >= 3 else np.repeat(data[..., :1], 3, axis=2)
    out = np.empty(bands.shape, np.uint8)
    for b in range(3):
        lo, hi = np.percentile(bands[..., b], [1, 99])
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        out[..., b] = np.clip((bands[..., b] - lo) * scale, 0, 255).astype(np.uint8)
    return out


def magic_wand(
    store: LabelStore,
    image: ImageSource,
    x: int,
    y: int,
    *,
    paint: Paint,
    tolerance: float,
    radius: int = 256,
    connectivity: int = 8,
) -> Box:
    """Paint the connected pixels whose colour is within ``tolerance`` of the seed's.

    Colour distance is the largest absolute difference over the bands, in the
    image's own units. The region is bounded by a window of ``radius`` around the seed.
    """
    if tolerance < 0:
        raise LabelError(f"tolerance must be >= 0, got {tolerance}")
    window = _around(store, x, y, radius)
    data = _read(image, store, window)
    lx, ly = x - window.x, y - window.y
    dist = np.abs(data - data[ly, lx]).max(axis=2)
    region = _component(dist <= tolerance, lx, ly, connectivity)
    return paint_mask(store, window, region, paint)


def grabcut(
    store: LabelStore, image: ImageSource, box: Box, *, paint: Paint, iterations: int = 5
) -> Box:
    """Segment the object inside ``box`` with OpenCV GrabCut and paint it.

    The image around the box (a margin of 10 %, at least 8 pixels) is the
    background sample, so the box must leave some image outside it.
    """
    import cv2

    inner = box.clip(store.width, store.height)
    if inner.w < 3 or inner.h < 3:
        raise LabelError(f"GrabCut box {box} is too small; drag a box of at least 3x3 pixels")
    margin = max(8, max(inner.w, inner.h) // 10)
    window = inner.pad(margin).clip(store.width, store.height)
    if window == inner:
        raise LabelError("GrabCut needs some image outside the box; draw a smaller box")
    img = _to_uint8(_read(image, store, window))
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    # GrabCut's edge weight is fixed per pixel, so on a small box (a 10 px
    # nucleus) the cheapest cut is no object at all. Working on the window
    # enlarged until the box spans GRABCUT_SPAN pixels keeps the colour term in
    # charge; the mask is sampled back to image pixels afterwards.
    scale = min(GRABCUT_MAX_SCALE, max(1, GRABCUT_SPAN // max(inner.w, inner.h)))
    size = (window.w * scale, window.h * scale)
    if scale > 1:  # whole pixels become scale x scale blocks, so edges stay on the grid
        img = cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)
    mask = np.zeros((size[1], size[0]), np.uint8)
    rect = (
        (inner.x - window.x) * scale,
        (inner.y - window.y) * scale,
        inner.w * scale,
        inner.h * scale,
    )
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means
    try:
        cv2.grabCut(img, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error as exc:
        raise LabelError(f"GrabCut failed on box {box}: {exc}") from exc
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)
    if scale > 1:
        fg = cv2.resize(fg, (window.w, window.h), interpolation=cv2.INTER_AREA)  # block means
    return paint_mask(store, window, fg >= 0.5, paint)


def watershed_scribbles(
    store: LabelStore,
    image: ImageSource,
    box: Box,
    scribbles: Sequence[Scribble],
    *,
    width: float = 3.0,
) -> Box:
    """Grow each scribble over the image gradient inside ``box`` (watershed) and paint it.

    Pixels reached from a scribble with ``paint=None`` (background) are left alone.
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed

    window = box.clip(store.width, store.height)
    if window.is_empty:
        raise LabelError(f"watershed box {box} is outside the image")
    if not scribbles:
        raise LabelError("watershed needs at least one scribble")
    markers = np.zeros((window.h, window.w), np.int32)
    for k, s in enumerate(scribbles, start=1):
        pts = check_points(s.points, 1, "a scribble")
        if len(pts) == 1:
            pts = np.vstack([pts, pts])
        for a, b in zip(pts[:-1], pts[1:], strict=True):
            markers[segment_mask(window, a, b, width / 2)] = k
    if not markers.any():
        raise LabelError(f"no scribble lies inside the watershed box {box}")
    data = _read(image, store, window)
    elevation = sobel(data.mean(axis=2))  # type: ignore[no-untyped-call]
    labels = watershed(elevation, markers)  # type: ignore[no-untyped-call]
    out = Box.empty()
    for k, s in enumerate(scribbles, start=1):
        if s.paint is not None:
            out = out.union(paint_mask(store, window, labels == k, s.paint))
    return out


def superpixel(
    store: LabelStore,
    image: ImageSource,
    x: int,
    y: int,
    *,
    paint: Paint,
    radius: int = 128,
    n_segments: int = 200,
    compactness: float = 10.0,
) -> Box:
    """Paint the SLIC superpixel under the click (computed on a window around it)."""
    from skimage.segmentation import slic

    window = _around(store, x, y, radius)
    data = _read(image, store, window)
    lo, hi = data.min(), data.max()
    scaled = (data - lo) / (hi - lo) if hi > lo else np.zeros_like(data)
    segments = slic(
        scaled, n_segments=n_segments, compactness=compactness, start_label=1, channel_axis=-1
    )
    region = segments == segments[y - window.y, x - window.x]
    return paint_mask(store, window, region, paint)


def accept_prediction(
    store: LabelStore,
    prediction: ImageSource,
    x: int,
    y: int,
    *,
    paint_for: Callable[[int], Paint] | None = None,
    radius: int = 512,
) -> Box:
    """Copy the model's segment under the click: the connected region of its class.

    ``prediction`` band 0 is a class map (255 = no class). ``paint_for(class_id)``
    picks the instance (e.g. :meth:`Editor.paint_for`); default: no instance.
    """
    window = _around(store, x, y, radius)
    classes = _read(prediction, store, window)[..., 0]
    lx, ly = x - window.x, y - window.y
    cls = int(classes[ly, lx])
    if not 0 <= cls < UNLABELLED:
        return Box.empty()
    region = _component(classes == cls, lx, ly, 4)
    paint = paint_for(cls) if paint_for is not None else Paint(cls)
    return paint_mask(store, window, region, paint)
