"""Real datasets for the pixel-classifier benchmark: image, training labels, test labels.

* ``spacenet``: the SpaceNet tile (900 x 900 uint16 panchromatic, 0.5 m) with its
  43 building polygons rasterised; every pixel is labelled (background or
  building, 6 % buildings). Training labels: the left half; test: the right half.
* ``nuclei``: the stardist fluorescence image (512 x 512 uint16), foreground =
  instance id > 0; left half for training, right half for testing.
* ``landsat``: the Landsat-5 band with nodata (2846 x 4627 int16, -9999 outside
  the scene and in scan-line gaps) and sparse labels drawn for this benchmark:
  small discs placed by eye on clear examples of four classes in a rendering
  of the image (grid every 100 px), listed in :data:`LANDSAT_DISCS`. The scene
  has no ground truth of its own, so these are honest but partial: what a user
  would scribble. Discs alternate between training and test within each class,
  so both sides span the scene; one cropland disc lies on scan-line gaps.

Cropland is the field mosaic (centre-pivot circles and strips of any
brightness, also the pivots inside the sandhills); rangeland is the dune
grassland; water the dark lakes; valley the river corridor's wooded slopes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcore.labels.schema import UNLABELLED
from segcore.sampledata import fetch

RANGELAND, WATER, CROPLAND, VALLEY = range(4)
LANDSAT_CLASSES = ("rangeland", "water", "cropland", "valley")

# (class, centre x, centre y, radius) in level-0 pixels of landsat_nodata
LANDSAT_DISCS: tuple[tuple[int, int, int, int], ...] = (
    (RANGELAND, 900, 750, 15),
    (RANGELAND, 1150, 950, 15),
    (RANGELAND, 1250, 1000, 15),
    (RANGELAND, 850, 1250, 15),
    (RANGELAND, 1150, 1300, 15),
    (RANGELAND, 700, 1050, 15),
    (RANGELAND, 1000, 700, 15),
    (RANGELAND, 530, 3020, 12),
    (WATER, 695, 940, 10),
    (WATER, 1090, 1097, 7),
    (WATER, 1290, 1143, 7),
    (WATER, 630, 1212, 8),
    (WATER, 1198, 798, 7),
    (WATER, 1270, 868, 5),
    (WATER, 1028, 1083, 5),
    (CROPLAND, 650, 3150, 15),
    (CROPLAND, 850, 3250, 15),
    (CROPLAND, 1000, 3450, 15),
    (CROPLAND, 750, 3550, 15),
    (CROPLAND, 950, 3650, 15),
    (CROPLAND, 650, 3750, 15),
    (CROPLAND, 1250, 3350, 15),
    (CROPLAND, 1150, 3200, 15),
    (CROPLAND, 1050, 3050, 15),
    (CROPLAND, 600, 3450, 15),
    (CROPLAND, 700, 785, 7),
    (CROPLAND, 867, 890, 7),
    (CROPLAND, 1028, 968, 7),
    (CROPLAND, 973, 1017, 8),
    (CROPLAND, 755, 1360, 8),
    (CROPLAND, 897, 1373, 7),
    (VALLEY, 900, 2740, 12),
    (VALLEY, 1200, 2760, 12),
    (VALLEY, 1050, 2745, 12),
    (VALLEY, 750, 2735, 12),
)


@dataclass(frozen=True)
class Dataset:
    """An image (h, w, bands) with training and test class maps (255 = unlabelled)."""

    name: str
    image: np.ndarray
    train: np.ndarray
    test: np.ndarray
    classes: tuple[str, ...]
    nodata: float | None = None
    scored: tuple[int, ...] = ()  # classes whose IoU the table shows (empty: mean IoU)


def _read(name: str) -> tuple[np.ndarray, float | None]:
    from segcore.io import open_image

    with_src = open_image(fetch(name))
    try:
        image = with_src.read_region(0, 0, 0, with_src.width, with_src.height)
        return np.asarray(image), with_src.nodata
    finally:
        with_src.close()


def halves(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left half labelled, right half labelled) copies of a dense class map."""
    w = mask.shape[1] // 2
    left, right = mask.copy(), mask.copy()
    left[:, w:] = UNLABELLED
    right[:, :w] = UNLABELLED
    return left, right


def spacenet() -> Dataset:
    import pyogrio.raw
    import rasterio
    import shapely
    from rasterio.features import rasterize

    image, _ = _read("spacenet_image")
    with rasterio.open(fetch("spacenet_image")) as ds:
        transform, shape = ds.transform, (ds.height, ds.width)
    _, _, geometry, _ = pyogrio.raw.read(str(fetch("spacenet_buildings")))
    shapes = [(shapely.from_wkb(g), 1) for g in geometry]
    mask = rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype=np.uint8)
    train, test = halves(mask)
    return Dataset("spacenet buildings", image, train, test, ("background", "building"), None, (1,))


def nuclei() -> Dataset:
    image, _ = _read("nuclei_image")
    mask, _ = _read("nuclei_mask")
    fg = (mask[..., 0] > 0).astype(np.uint8)
    train, test = halves(fg)
    return Dataset("nuclei", image, train, test, ("background", "nucleus"), None, (1,))


def landsat() -> Dataset:
    image, nodata = _read("landsat_nodata")
    h, w = image.shape[:2]
    train = np.full((h, w), UNLABELLED, np.uint8)
    test = train.copy()
    seen: dict[int, int] = {}
    for cls, cx, cy, r in LANDSAT_DISCS:
        k = seen.get(cls, 0)
        seen[cls] = k + 1
        target = train if k % 2 == 0 else test
        y0, y1, x0, x1 = cy - r, cy + r + 1, cx - r, cx + r + 1
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        target[y0:y1, x0:x1][disc] = cls
    return Dataset("landsat (sparse discs)", image, train, test, LANDSAT_CLASSES, nodata)


DATASETS = {"spacenet": spacenet, "nuclei": nuclei, "landsat": landsat}
