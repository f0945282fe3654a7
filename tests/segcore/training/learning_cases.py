"""Real data in the shapes that broke training (issue 12), shared by tests and bench/.

Each builder returns a :class:`Case`: the image, the labels a user would give
(255 = unlabelled) and a reference map to score against (255 = not scored).

- :func:`spacenet_buildings` — the real SpaceNet tile (900 x 900 uint16, one band)
  with its 43 real building polygons; buildings (4 % of the pixels) are labelled
  on the top half only and scored on the bottom half.
- :func:`roads_over_tile` — a rare *thin* class: a synthetic road network (3-5 px
  wide, about 3 % of the pixels) painted into the real SpaceNet tile.
- :func:`landsat_polygons` — multispectral float with NaN nodata and a few small
  polygons: a 489 x 443 window of a real Landsat 8 scene (3 visible bands) at the
  edge of the scene, turned into float32 reflectance with NaN where the scene has
  no data. No land-cover map exists for it, so the reference is built from the
  data, openly: k-means (5 clusters) on the bands smoothed over 1.5 px, keeping
  only pixels clearly nearer their own cluster centre than any other (ratio < 0.7)
  and away from class borders. The user's labels are 35 small polygons (radius
  5-8 px, 7 per class, about 1,500 pixels) inside large uniform areas of the reference.
- :func:`nuclei_halves` — real fluorescence nuclei (512 x 512 uint16), labelled on
  the left half, scored on the right.

:func:`pixel_classifier_map` trains the pixel classifier (issue 12 part 4) on a
case's labels with its defaults and returns its class map, the rival the
default deep run is compared with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from segcore.sampledata import fetch


@dataclass(frozen=True)
class Case:
    name: str
    image: np.ndarray  # (h, w) or (h, w, bands)
    labels: np.ndarray  # (h, w) uint8, 255 = unlabelled
    reference: np.ndarray  # (h, w) uint8, 255 = not scored
    classes: tuple[str, ...]
    rare: int | None = None  # the class whose IoU matters most


def _spacenet() -> tuple[np.ndarray, np.ndarray]:
    import rasterio
    from rasterio.features import rasterize

    with rasterio.open(fetch("spacenet_image")) as ds:
        image = ds.read(1)
        transform = ds.transform
    features = json.loads(fetch("spacenet_buildings").read_text())["features"]
    shapes = [f["geometry"] for f in features]
    buildings = rasterize(shapes, out_shape=image.shape, transform=transform).astype(np.uint8)
    return image, buildings


def spacenet_buildings(rows: int = 900) -> Case:
    """Buildings labelled on the top half of the real tile, scored on the bottom half."""
    image, truth = _spacenet()
    image, truth = image[:rows], truth[:rows]
    half = rows // 2
    labels = truth.copy()
    labels[half:] = 255
    reference = np.full_like(truth, 255)
    reference[half:] = truth[half:]
    return Case("spacenet buildings", image, labels, reference, ("background", "building"), 1)


def road_network(shape: tuple[int, int], *, seed: int = 0, roads: int = 7) -> np.ndarray:
    """A mask of ``roads`` gently curving roads, 3-5 px wide, crossing the whole image."""
    from scipy.ndimage import binary_dilation
    from skimage.draw import line

    h, w = shape
    rng = np.random.default_rng(seed)
    centre = np.zeros(shape, bool)
    for k in range(roads):
        vertical = k % 2 == 0
        n = 6
        t = np.linspace(0, 1, n)
        offset = rng.uniform(0.1, 0.9) + np.cumsum(rng.normal(0, 0.06, n))
        if vertical:
            ys, xs = t * (h - 1), np.clip(offset, 0, 1) * (w - 1)
        else:
            ys, xs = np.clip(offset, 0, 1) * (h - 1), t * (w - 1)
        for i in range(n - 1):
            rr, cc = line(int(ys[i]), int(xs[i]), int(ys[i + 1]), int(xs[i + 1]))
            centre[rr, cc] = True
    width = np.zeros(shape, bool)
    width |= binary_dilation(centre, iterations=1)
    wide = binary_dilation(centre, iterations=2)
    pick = rng.random(roads) < 0.5
    return np.where(pick.any(), wide if pick[0] else width, width)


def roads_over_tile(size: int = 900, *, seed: int = 0) -> Case:
    """A rare thin class: roads painted into the real tile, labelled on the top half."""
    image, _ = _spacenet()
    image = image[:size, :size].astype(np.float64)
    roads = road_network(image.shape, seed=seed, roads=max(3, round(7 * size / 900)))
    rng = np.random.default_rng(seed + 1)
    # asphalt: a mid-grey a little brighter than the tile's median, with its own grain
    level = np.percentile(image, 70)
    texture = rng.normal(level, 0.08 * level, image.shape)
    painted = np.where(roads, texture, image).clip(0, 65535).astype(np.uint16)
    truth = roads.astype(np.uint8)
    half = size // 2
    labels = truth.copy()
    labels[half:] = 255
    reference = np.full_like(truth, 255)
    reference[half:] = truth[half:]
    return Case("roads over a real tile", painted, labels, reference, ("background", "road"), 1)


LANDSAT_WINDOW = (1500, 420, 489, 443)  # x, y, w, h in the scene: reservoir, fields, town, edge


def landsat_polygons(*, polygons_per_class: int = 7, seed: int = 0) -> Case:
    """Float32 reflectance with NaN nodata, five spectral classes, a few small polygons."""
    import rasterio
    from rasterio.windows import Window
    from scipy.ndimage import binary_erosion, gaussian_filter
    from skimage.draw import polygon
    from sklearn.cluster import KMeans

    x, y, w, h = LANDSAT_WINDOW
    with rasterio.open(fetch("landsat8_scene")) as ds:
        raw = ds.read(window=Window(x, y, w, h))
    fill = (raw == 0).all(0)
    image = np.moveaxis(raw.astype(np.float32) * 2e-5 - 0.1, 0, -1)  # L1 reflectance scaling
    image[fill] = np.nan
    valid = ~fill
    smooth = (
        np.stack([gaussian_filter(np.where(valid, image[..., b], 0), 1.5) for b in range(3)], -1)
        / np.maximum(gaussian_filter(valid.astype(np.float32), 1.5), 1e-6)[..., None]
    )
    feats = smooth[valid]
    scale = feats.std(0)
    km = KMeans(5, n_init=4, random_state=0).fit(feats / scale)
    dist = np.sort(km.transform(feats / scale), axis=1)
    cluster = np.full(fill.shape, 255, np.uint8)
    # classes ordered by brightness (1 darkest, shaded forest; 3 is the turbid reservoir)
    order = np.argsort(np.argsort(km.cluster_centers_.sum(1)))
    confident = dist[:, 0] / np.maximum(dist[:, 1], 1e-9) < 0.7
    cluster[valid] = np.where(confident, order[km.labels_], 255)
    reference = np.full_like(cluster, 255)
    for c in range(5):
        inner = binary_erosion(cluster == c, iterations=1)
        reference[inner] = c
    labels = np.full_like(cluster, 255)
    rng = np.random.default_rng(seed)
    for c in range(5):
        room = binary_erosion(reference == c, iterations=4)
        ys, xs = np.nonzero(room)
        if len(ys) == 0:
            continue
        for i in rng.choice(len(ys), size=min(polygons_per_class, len(ys)), replace=False):
            r = rng.uniform(5, 8)
            angles = np.sort(rng.uniform(0, 2 * np.pi, 6))
            radii = r * rng.uniform(0.7, 1.0, 6)
            rr, cc = polygon(
                ys[i] + radii * np.sin(angles), xs[i] + radii * np.cos(angles), fill.shape
            )
            labels[rr, cc] = np.where(reference[rr, cc] == c, c, labels[rr, cc])
    names = tuple(f"cluster {c + 1}" for c in range(5))  # ordered by brightness
    return Case("landsat polygons + NaN", image, labels, reference, names)


def nuclei_halves() -> Case:
    """Nuclei labelled on the left half of the real image, scored on the right half."""
    import tifffile

    image = tifffile.imread(fetch("nuclei_image"))
    truth = (tifffile.imread(fetch("nuclei_mask")) > 0).astype(np.uint8)
    labels = truth.copy()
    labels[:, 256:] = 255
    reference = np.full_like(truth, 255)
    reference[:, 256:] = truth[:, 256:]
    return Case("nuclei halves", image, labels, reference, ("background", "nucleus"), 1)


def pixel_classifier_map(case: Case, *, threads: int | None = None) -> np.ndarray:
    """The pixel classifier's class map of ``case.image`` (255 on nodata), trained with defaults.

    Trained through the real job (survey, statistics, class-balanced samples,
    64 trees) and run as the engine runs it: features of the whole image with
    the filters' halo, forest probabilities, argmax.
    """
    from segcore.jobs import run_to_end
    from segcore.labels.box import Box
    from segcore.pixelclass.classifier import FeatureExtractor
    from segcore.pixelclass.train import PixelConfig, train_pixel_classifier
    from segcore.training.data import data_from_arrays

    data = data_from_arrays([case.image], [case.labels], classes=list(case.classes))
    try:
        result = run_to_end(train_pixel_classifier(PixelConfig(threads=threads), data=data))
        clf = result.classifier
        extractor = FeatureExtractor(clf.spec, clf.in_channels, threads=threads)
        source = data.images[0].image
        box = Box(0, 0, source.width, source.height)
        features, nodata = extractor.window(source, clf.normalization, box)
    finally:
        data.close()
    pred = clf.proba(features).argmax(axis=-1).astype(np.uint8)
    pred[nodata] = 255
    return pred
