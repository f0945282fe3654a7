"""Deterministic synthetic scenes: image + semantic map + instance map.

Every pixel is a pure function of ``(seed, x, y)``, so any window of a scene of
any size can be rendered on its own, and a 20k x 20k GeoTIFF can be written
window by window without holding it in memory.

The scene has three "stuff" classes (grass, water, road) and two "thing"
classes (building, tree). Each class has its own texture, not a flat colour,
so a model has to look at neighbourhoods to tell them apart.

>>> scene = make_scene(64, 96, seed=1)
>>> scene.image.shape, scene.semantic.shape, scene.instance.dtype
((64, 96, 3), (64, 96), dtype('uint32'))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from segcore.labels.schema import ClassInfo

GRASS, WATER, ROAD, BUILDING, TREE = range(5)
SCENE_CLASSES: tuple[ClassInfo, ...] = (
    ClassInfo(GRASS, "grass", (96, 160, 64)),
    ClassInfo(WATER, "water", (40, 90, 200)),
    ClassInfo(ROAD, "road", (150, 150, 150)),
    ClassInfo(BUILDING, "building", (220, 80, 60), thing=True),
    ClassInfo(TREE, "tree", (20, 90, 30), thing=True),
)

CELL = 128  # things are placed per cell and stay inside it
ROAD_SPACING = 384
WATER_SCALE = 320
MAX_OBJECTS = 4  # per cell


@dataclass(frozen=True)
class SceneSpec:
    """What scene to draw: seed, number of bands and pixel type."""

    seed: int = 0
    bands: int = 3
    dtype: Literal["uint8", "uint16"] = "uint8"


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # (h, w, bands)
    semantic: np.ndarray  # (h, w) uint8 class ids
    instance: np.ndarray  # (h, w) uint32, 0 = no instance


def _hash(seed: int, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform floats in [0, 1) from integer keys (a splitmix64-style mix)."""
    with np.errstate(over="ignore"):
        acc = np.asarray(np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
        for k in keys:
            acc = acc ^ (
                np.asarray(k).astype(np.int64).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
            )
            acc = (acc ^ (acc >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            acc = (acc ^ (acc >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            acc = acc ^ (acc >> np.uint64(31))
    return (acc >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _value_noise(seed: int, xs: np.ndarray, ys: np.ndarray, scale: float) -> np.ndarray:
    """Smooth noise in [0, 1): random values on a lattice, smoothly interpolated."""
    gx, gy = xs / scale, ys / scale
    x0, y0 = np.floor(gx), np.floor(gy)
    tx, ty = gx - x0, gy - y0
    tx, ty = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty)
    v00, v10 = _hash(seed, x0, y0), _hash(seed, x0 + 1, y0)
    v01, v11 = _hash(seed, x0, y0 + 1), _hash(seed, x0 + 1, y0 + 1)
    top = v00 + (v10 - v00) * tx
    bottom = v01 + (v11 - v01) * tx
    return np.asarray(top + (bottom - top) * ty, np.float64)


def _roads(seed: int, coords: np.ndarray, axis_key: int) -> np.ndarray:
    """Mask of road lines crossing ``coords`` (1-D) on one axis."""
    k = np.floor(coords / ROAD_SPACING)
    present = _hash(seed, axis_key, k) < 0.7
    centre = k * ROAD_SPACING + 40 + _hash(seed, axis_key + 10, k) * (ROAD_SPACING - 80)
    half = 6 + _hash(seed, axis_key + 20, k) * 8
    return np.asarray(present & (np.abs(coords - centre) <= half), bool)


def _stuff(seed: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Stuff classes of pixel coordinates (broadcastable arrays)."""
    water = _value_noise(seed + 1, xs, ys, WATER_SCALE) > 0.68
    road = _roads(seed, xs, 1) | _roads(seed, ys, 2)
    out = np.full(np.broadcast(xs, ys).shape, GRASS, np.uint8)
    out[water] = WATER
    out[road & ~water] = ROAD
    return out


def _paint_things(seed: int, x: int, y: int, sem: np.ndarray, inst: np.ndarray) -> None:
    """Draw the buildings and trees of every cell that meets the window."""
    h, w = sem.shape
    cols = range(x // CELL, (x + w - 1) // CELL + 1)
    rows = range(y // CELL, (y + h - 1) // CELL + 1)
    yy, xx = np.mgrid[0:h, 0:w]
    cells_per_row = 1 << 20
    for cy in rows:
        for cx in cols:
            count = int(_hash(seed, 100, cx, cy) * (MAX_OBJECTS + 1))
            for k in range(count):
                r = [float(_hash(seed, 200 + j, cx, cy, k)) for j in range(5)]
                kind = BUILDING if r[0] < 0.5 else TREE
                ox = cx * CELL + 20 + r[1] * (CELL - 40)
                oy = cy * CELL + 20 + r[2] * (CELL - 40)
                if _stuff(seed, np.array(ox), np.array(oy)) != GRASS:
                    continue
                if kind == BUILDING:
                    hw, hh = 6 + r[3] * 12, 6 + r[4] * 12
                    shape = (np.abs(xx + x - ox) <= hw) & (np.abs(yy + y - oy) <= hh)
                else:
                    radius = 5 + r[3] * 10
                    shape = (xx + x - ox) ** 2 + (yy + y - oy) ** 2 <= radius**2
                if not shape.any():
                    continue
                sem[shape] = kind
                inst[shape] = (cy * cells_per_row + cx) * MAX_OBJECTS + k + 1


def _texture(seed: int, xs: np.ndarray, ys: np.ndarray, sem: np.ndarray, bands: int) -> np.ndarray:
    """Float image in [0, 1] with a class-specific texture per pixel."""
    fine = _hash(seed + 7, xs, ys)
    coarse = _hash(seed + 8, xs // 3, ys // 3)
    ripple = 0.5 + 0.5 * np.sin((xs + 0.6 * ys) * 0.35)
    checker = ((xs // 4 + ys // 4) % 2).astype(np.float64)
    bases = np.array([c.color for c in SCENE_CLASSES], np.float64) / 255.0
    amount = {GRASS: (fine, 0.30), WATER: (ripple, 0.22), ROAD: (fine, 0.18)}
    amount |= {BUILDING: (checker, 0.25), TREE: (coarse, 0.35)}
    rgb = bases[sem] * 0.8
    mod = np.zeros(sem.shape)
    for cls, (pattern, strength) in amount.items():
        where = sem == cls
        mod[where] = (pattern[where] - 0.5) * strength
    rgb = rgb + mod[..., None] + (_hash(seed + 9, xs, ys)[..., None] - 0.5) * 0.12
    if bands == 3:
        return np.asarray(np.clip(rgb, 0, 1), np.float64)
    if bands == 1:
        return np.asarray(np.clip(rgb.mean(axis=-1, keepdims=True), 0, 1), np.float64)
    # Extra bands: fixed mixtures of the visible ones plus a class response, like NIR.
    extra = []
    for b in range(3, bands):
        weights = np.array([_hash(seed + 50, b, i) for i in range(3)]).ravel()
        response = np.array([_hash(seed + 60, b, c) for c in range(len(SCENE_CLASSES))]).ravel()
        extra.append(0.5 * (rgb @ (weights / weights.sum())) + 0.5 * response[sem])
    stacked = np.concatenate([rgb, np.stack(extra, axis=-1)], axis=-1)
    return np.asarray(np.clip(stacked, 0, 1), np.float64)


def render_region(spec: SceneSpec, x: int, y: int, width: int, height: int) -> Scene:
    """Render the window (x, y, width, height) of the infinite scene ``spec``."""
    ys, xs = np.mgrid[y : y + height, x : x + width].astype(np.int64)
    sem = _stuff(spec.seed, xs, ys)
    inst = np.zeros(sem.shape, np.uint32)
    _paint_things(spec.seed, x, y, sem, inst)
    image = _texture(spec.seed, xs, ys, sem, spec.bands)
    scale = 255.0 if spec.dtype == "uint8" else 65535.0
    pixels = np.round(image * scale).astype(spec.dtype)
    return Scene(pixels, sem, inst)


def make_scene(
    height: int,
    width: int,
    *,
    seed: int = 0,
    bands: int = 3,
    dtype: Literal["uint8", "uint16"] = "uint8",
) -> Scene:
    """A whole scene of ``height`` x ``width`` pixels (for small sizes)."""
    return render_region(SceneSpec(seed, bands, dtype), 0, 0, width, height)


def write_geotiff(
    path: str | Path,
    width: int,
    height: int,
    *,
    spec: SceneSpec = SceneSpec(),
    block: int = 512,
    labels_path: str | Path | None = None,
    overviews: bool = False,
) -> Path:
    """Write a tiled, compressed (Big)GeoTIFF of the scene window by window.

    The raster is placed in UTM zone 16N at 0.5 m per pixel. With
    ``labels_path`` the semantic map is written beside it as a uint8 GeoTIFF.
    Memory stays at a few blocks whatever the size.
    """
    import rasterio
    from affine import Affine

    path = Path(path)
    transform = Affine(0.5, 0.0, 500000.0, 0.0, -0.5, 4400000.0)
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "crs": "EPSG:32616",
        "transform": transform,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }
    image = rasterio.open(path, "w", count=spec.bands, dtype=spec.dtype, **profile)
    labels = None
    if labels_path is not None:
        labels = rasterio.open(labels_path, "w", count=1, dtype="uint8", **profile)
    try:
        for top in range(0, height, block):
            for left in range(0, width, block):
                w, h = min(block, width - left), min(block, height - top)
                scene = render_region(spec, left, top, w, h)
                window = rasterio.windows.Window(left, top, w, h)
                image.write(np.moveaxis(scene.image, -1, 0), window=window)
                if labels is not None:
                    labels.write(scene.semantic[None], window=window)
    finally:
        image.close()
        if labels is not None:
            labels.close()
    if overviews:
        with rasterio.open(path, "r+") as ds:
            factors = [f for f in (2, 4, 8, 16, 32, 64, 128) if max(width, height) // f >= 256]
            ds.build_overviews(factors, rasterio.enums.Resampling.average)
    return path
