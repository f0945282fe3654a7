"""Live mode: retrain after every stroke and predict the visible area, ilastik style.

:class:`LiveClassifier` keeps, for one image,

* the features of recently used tiles (a byte-bounded LRU cache), so a
  refresh after a stroke does not filter the view again;
* the features of every labelled pixel, per tile, re-read only for tiles a
  stroke touched (``changed``);
* the current forest and, per tile, which forest predicted it last.

:meth:`LiveClassifier.refresh` is a job (a generator yielding ``Progress``):
re-read the touched tiles' labels, refit the forest on a class-balanced
sample (no out-of-bag score: speed), then predict the view's tiles, each
yielded as a :class:`LivePatch` as soon as it is ready. Closing the
generator (a newer stroke arrived) stops it between tiles; the state stays
consistent, so the next refresh picks up where this one stopped.

Qt-free: the app runs refreshes in a worker and paints the patches.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from segcore.io.source import ImageSource
from segcore.jobs import Job, Progress
from segcore.labels.box import Box
from segcore.labels.reader import LabelReader
from segcore.labels.schema import UNLABELLED, ClassInfo, default_color
from segcore.models.meta import Normalization
from segcore.pixelclass.classifier import FeatureExtractor, PixelClassifier
from segcore.pixelclass.pixels import band_stats
from segcore.pixelclass.samples import Reservoir
from segcore.pixelclass.train import PixelConfig, fit_forest

TILE = 256
LIVE_TREES = 32  # half the saved model's: as good on the benchmark, twice as fast to refit and run
CACHE_BYTES = 1 << 30  # features of ~2.5 megapixels of a 3-band image


@dataclass(frozen=True)
class LivePatch:
    """One predicted tile: class ids and confidence (uint8, 255 = certain) at (x, y)."""

    x: int
    y: int
    labels: np.ndarray
    score: np.ndarray


@dataclass
class LiveResult:
    """What a refresh did: samples per class id, whether it (re)trained, tiles predicted."""

    samples: dict[int, int] = field(default_factory=dict)
    trained: bool = False
    predicted: int = 0
    message: str = ""
    train_seconds: float = 0.0  # reading labels and fitting the forest
    seconds: float = 0.0  # the whole refresh


@dataclass
class _TileSamples:
    features: np.ndarray  # (n, F) of the tile's labelled, valid pixels
    labels: np.ndarray  # (n,) their class ids


class LiveClassifier:
    """See the module docstring. Not thread-safe: run one refresh at a time."""

    def __init__(
        self,
        source: ImageSource,
        labels: LabelReader,
        *,
        classes: tuple[ClassInfo, ...] | None,
        config: PixelConfig | None = None,
        labelled_boxes: Callable[[], list[Box]] | None = None,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        self.source, self.labels = source, labels
        self.classes = classes
        self.config = config or PixelConfig(trees=LIVE_TREES)
        self.labelled_boxes = labelled_boxes
        self.cache_bytes = cache_bytes
        self.extractor = FeatureExtractor(
            self.config.features, source.band_count, threads=self.config.threads
        )
        self.norm: Normalization | None = None
        self.classifier: PixelClassifier | None = None
        self.version = 0  # of the forest; 0: none yet
        self._features: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._bytes = 0
        self._samples: dict[tuple[int, int], _TileSamples] = {}
        self._dirty: set[tuple[int, int]] | None = None  # None: survey every labelled tile
        self._stale = True  # samples changed since the forest was fitted
        self._predicted: dict[tuple[int, int], int] = {}
        # The forest predicts one tile per thread (its own n_jobs is 1): no per-call
        # joblib start-up, and the next tile is filtered meanwhile.
        self._workers = max(1, self.config.threads or min(os.cpu_count() or 1, 4))
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="tessera-live")

    # -- tiles ------------------------------------------------------------------

    def tile_box(self, key: tuple[int, int]) -> Box:
        tx, ty = key
        return Box(tx * TILE, ty * TILE, TILE, TILE).clip(self.source.width, self.source.height)

    def tiles(self, box: Box) -> list[tuple[int, int]]:
        """Tiles meeting ``box``, centre first (the part a user looks at)."""
        box = box.clip(self.source.width, self.source.height)
        if box.is_empty:
            return []
        keys = [
            (tx, ty)
            for ty in range(box.y // TILE, (box.y1 - 1) // TILE + 1)
            for tx in range(box.x // TILE, (box.x1 - 1) // TILE + 1)
        ]
        cx, cy = (box.x + box.x1) / 2, (box.y + box.y1) / 2
        return sorted(
            keys, key=lambda k: ((k[0] + 0.5) * TILE - cx) ** 2 + ((k[1] + 0.5) * TILE - cy) ** 2
        )

    def features(self, key: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(features (F, h, w), nodata mask) of a tile, from the cache or computed now."""
        hit = self._features.get(key)
        if hit is not None:
            self._features.move_to_end(key)
            return hit
        assert self.norm is not None
        value = self.extractor.window(self.source, self.norm, self.tile_box(key))
        self._features[key] = value
        self._bytes += value[0].nbytes + value[1].nbytes
        while self._bytes > self.cache_bytes and len(self._features) > 1:
            _, (old, mask) = self._features.popitem(last=False)
            self._bytes -= old.nbytes + mask.nbytes
        return value

    # -- the job ----------------------------------------------------------------

    def mark_changed(self, box: Box) -> None:
        """Labels inside ``box`` changed (a stroke, undo, redo): re-read those tiles."""
        if self._dirty is not None:
            self._dirty.update(self.tiles(box))

    def refresh(self, view: Box, *, changed: Box | None = None) -> Job[LiveResult]:
        """Retrain if labels changed, then predict the tiles of ``view`` not yet predicted
        by the current forest; yields one ``Progress`` per tile, payload a :class:`LivePatch`."""
        result = LiveResult()
        start = time.monotonic()
        if self.norm is None:
            self.norm = band_stats([self.source], [(0, self.tile_box(k)) for k in self.tiles(view)])
        if changed is not None:
            self.mark_changed(changed)
        if self._dirty is None or self._dirty:
            yield from self._read_labels()
        if self._stale:  # also when a closed refresh read the labels but did not refit
            result.trained = self._retrain(result)
            self._stale = False
            result.train_seconds = time.monotonic() - start
        if self.classifier is None:
            result.message = result.message or "label at least two classes to see a prediction"
            result.seconds = time.monotonic() - start
            return result
        todo = [k for k in self.tiles(view) if self._predicted.get(k) != self.version]
        for done, patch in enumerate(self._predictions(todo), 1):
            result.predicted += 1
            yield Progress(done, len(todo), f"predicted {done}/{len(todo)} tiles", payload=patch)
        result.seconds = time.monotonic() - start
        return result

    def _predictions(self, keys: list[tuple[int, int]]) -> Iterator[LivePatch]:
        """Patches of ``keys`` in order; the forest runs on a tile while the next is filtered.

        Features (and the cache) stay in this thread; only the pure forest
        prediction goes to the pool. Closing the generator waits for the
        running predictions, so nothing outlives the refresh.
        """
        pending: deque[tuple[tuple[int, int], Future[LivePatch]]] = deque()
        clf = self.classifier
        assert clf is not None
        try:
            for key in keys:
                features, invalid = self.features(key)
                box = self.tile_box(key)
                pending.append((key, self._pool.submit(_patch, clf, box, features, invalid)))
                if len(pending) > self._workers:
                    yield self._finish(*pending.popleft())
            while pending:
                yield self._finish(*pending.popleft())
        finally:
            for _, future in pending:
                future.cancel()
            wait([f for _, f in pending])

    def _finish(self, key: tuple[int, int], future: Future[LivePatch]) -> LivePatch:
        patch = future.result()
        self._predicted[key] = self.version
        return patch

    def _read_labels(self) -> Iterator[Progress]:
        keys = sorted(self._dirty) if self._dirty is not None else self._labelled_tiles()
        for done, key in enumerate(keys, 1):
            box = self.tile_box(key)
            labels = np.asarray(self.labels.read("semantic", box.x, box.y, box.w, box.h))
            marked = labels != UNLABELLED
            self._stale = True
            if not marked.any():
                self._samples.pop(key, None)
            else:
                features, invalid = self.features(key)
                usable = marked & ~invalid
                self._samples[key] = _TileSamples(features[:, usable].T, labels[usable])
            if self._dirty is not None:
                self._dirty.discard(key)
            yield Progress(done, len(keys), "reading labels")
        if self._dirty is None:
            self._dirty = set()

    def _labelled_tiles(self) -> list[tuple[int, int]]:
        whole = Box(0, 0, self.source.width, self.source.height)
        if self.labelled_boxes is None:
            return self.tiles(whole)
        keys: set[tuple[int, int]] = set()
        for box in self.labelled_boxes():
            keys.update(self.tiles(box))
        return sorted(keys)

    def _retrain(self, result: LiveResult) -> bool:
        assert self.norm is not None
        reservoir = Reservoir(self.config.per_class, np.random.default_rng(self.config.seed))
        for part in self._samples.values():
            for class_id in np.unique(part.labels):
                reservoir.add(int(class_id), part.features[part.labels == class_id])
        features, ids = reservoir.arrays(self.extractor.count)
        present = np.unique(ids)
        result.samples = {int(c): int((ids == c).sum()) for c in present}
        if len(present) < 2:
            self.classifier = None
            result.message = "label at least two classes to see a prediction"
            return False
        forest = fit_forest(features, ids, self.config)
        forest.set_params(n_jobs=1)  # tiles run in parallel
        classes = self.classes or tuple(
            ClassInfo(i, f"class {i}", default_color(i)) for i in range(int(present.max()) + 1)
        )
        self.classifier = PixelClassifier(
            self.config.features,
            self.norm,
            classes,
            self.source.band_count,
            forest,
        )
        self.version += 1
        return True

    def close(self) -> None:
        """Drop the caches and stop the prediction threads (live mode ends)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._features.clear()
        self._samples.clear()
        self._bytes = 0


def _patch(clf: PixelClassifier, box: Box, features: np.ndarray, invalid: np.ndarray) -> LivePatch:
    """Class ids and confidence of one tile (pure: runs in the pool)."""
    proba = clf.proba(features)
    labels = proba.argmax(axis=-1).astype(np.uint8)
    score = np.clip(np.rint(proba.max(axis=-1) * 255.0), 0, 255).astype(np.uint8)
    labels[invalid] = UNLABELLED
    score[invalid] = 0
    return LivePatch(box.x, box.y, labels, score)
