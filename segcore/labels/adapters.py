"""Label readers over things that are not a label store.

* :class:`ArrayLabels`: whole NumPy maps (tests, small images, synthetic
  scenes), with nearest-neighbour overviews that cost nothing (strided views);
* :class:`SourceLabels`: single-band images holding ids (a mask file, a
  prediction written by ``tessera infer``), read window by window;
* :class:`LabelView`: another reader seen through a lock (reads while an
  editor writes) or with another class list.

Each satisfies :class:`~segcore.labels.reader.LabelReader`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from segcore.errors import LabelError, TesseraError
from segcore.labels.overviews import level_sizes
from segcore.labels.reader import FILLS, LabelReader, Layer, OneLevel, crop
from segcore.labels.schema import NO_INSTANCE, UNLABELLED, ClassInfo


class ArrayLabels:
    """A label reader over an ``(h, w)`` class map and an optional instance map.

    Parameters
    ----------
    semantic
        Class ids, 255 = unlabelled (cast to uint8).
    classes
        The class list (ids, names, colours, thing flags).
    instances
        Instance ids, 0 = none (cast to uint32); no instances when omitted.

    Level ``k`` is pixel ``(i * 2**k, j * 2**k)`` of level 0 (nearest).
    """

    def __init__(
        self,
        semantic: NDArray[np.generic],
        classes: Sequence[ClassInfo] = (),
        instances: NDArray[np.generic] | None = None,
    ) -> None:
        if semantic.ndim != 2:
            raise LabelError(f"a class map must be 2-D (h, w), got shape {semantic.shape}")
        if instances is not None and instances.shape != semantic.shape:
            raise LabelError(
                f"instance map shape {instances.shape} differs from class map "
                f"shape {semantic.shape}"
            )
        self.classes: tuple[ClassInfo, ...] = tuple(classes)
        self._sizes = level_sizes(int(semantic.shape[1]), int(semantic.shape[0]))
        maps = {"semantic": semantic.astype(np.uint8, copy=False)}
        if instances is not None:
            maps["instance"] = instances.astype(np.uint32, copy=False)
        self._levels = {
            name: [arr[:: 2**k, :: 2**k] for k in range(len(self._sizes))]
            for name, arr in maps.items()
        }

    @property
    def width(self) -> int:
        return self._sizes[0][0]

    @property
    def height(self) -> int:
        return self._sizes[0][1]

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return tuple(float(2**k) for k in range(len(self._sizes)))

    def level_size(self, level: int) -> tuple[int, int]:
        return self._sizes[level]

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> NDArray[Any]:
        levels = self._levels.get(layer)
        if levels is None:  # no instance map
            return np.full((h, w), NO_INSTANCE, np.uint32)
        return crop(levels[level], x, y, w, h, FILLS[layer])


class BandSource(Protocol):
    """What :class:`SourceLabels` reads: band 0 of an image (an ImageSource, a mask file)."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def read_region(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray: ...

    def close(self) -> None: ...


def class_ids(
    values: NDArray[Any],
    where: str,
    *,
    integers_only: bool = False,
    error: type[TesseraError] = LabelError,
) -> NDArray[np.uint8]:
    """``values`` as uint8 class ids; ``error`` naming ``where`` if they cannot be.

    Ids must lie in 0..255 (255 = unlabelled). Floats are truncated unless
    ``integers_only`` refuses them.
    """
    if values.dtype == np.uint8:
        return values
    if integers_only and not np.issubdtype(values.dtype, np.integer):
        raise error(
            f"{where}: a class map must hold integer class ids, got {values.dtype}; "
            "save masks as 8-bit PNG or TIFF with ids 0..254 and 255 for unlabelled"
        )
    if values.size and (values.min() < 0 or values.max() > UNLABELLED):
        low, high = values.min(), values.max()
        raise error(
            f"{where}: class ids must lie in 0..254 (255 = unlabelled), found "
            f"{low:g}..{high:g}; an instance mask must be turned into classes first "
            "(e.g. foreground = id > 0)"
        )
    return values.astype(np.uint8)


class SourceLabels(OneLevel):
    """Class ids from band 0 of one image, instance ids from band 0 of another (optional).

    Reads outside the image are unlabelled. ``where`` names the images in
    errors; ``integers_only`` and ``error`` say what a bad value raises (see
    :func:`class_ids`). :meth:`close` closes both images.
    """

    def __init__(
        self,
        source: BandSource,
        classes: Sequence[ClassInfo] = (),
        *,
        instances: BandSource | None = None,
        where: str | None = None,
        integers_only: bool = False,
        error: type[TesseraError] = LabelError,
    ) -> None:
        self.source, self.instance_source = source, instances
        self.width, self.height = int(source.width), int(source.height)
        if instances is not None and (instances.width, instances.height) != (
            self.width,
            self.height,
        ):
            raise error(
                f"{getattr(instances, 'path', 'instance mask')}: instance mask is "
                f"{instances.width} x {instances.height}, class mask {self.width} x {self.height}"
            )
        self.classes: tuple[ClassInfo, ...] = tuple(classes)
        self.where = where or str(getattr(source, "path", "class mask"))
        self._integers_only, self._error = integers_only, error

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> NDArray[Any]:
        self.level_size(level)  # only level 0
        band = self.source if layer == "semantic" else self.instance_source
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        out = np.full((h, w), FILLS[layer], np.uint8 if layer == "semantic" else np.uint32)
        if band is None or x1 <= x0 or y1 <= y0:
            return out
        values = np.asarray(band.read_region(0, x0, y0, x1 - x0, y1 - y0)[..., 0])
        if layer == "semantic":
            where, integers, error = self.where, self._integers_only, self._error
            values = class_ids(values, where, integers_only=integers, error=error)
        out[y0 - y : y1 - y, x0 - x : x1 - x] = values
        return out

    def close(self) -> None:
        self.source.close()
        if self.instance_source is not None:
            self.instance_source.close()


class LabelView:
    """``labels`` read while holding ``lock`` and/or shown with another class list."""

    def __init__(
        self,
        labels: LabelReader,
        *,
        classes: Sequence[ClassInfo] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.labels = labels
        self._classes = None if classes is None else tuple(classes)
        self.lock = lock

    @property
    def width(self) -> int:
        return self.labels.width

    @property
    def height(self) -> int:
        return self.labels.height

    @property
    def classes(self) -> Sequence[ClassInfo]:
        return self.labels.classes if self._classes is None else self._classes

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self.labels.level_downsamples

    def level_size(self, level: int) -> tuple[int, int]:
        return self.labels.level_size(level)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> NDArray[Any]:
        with self.lock if self.lock is not None else contextlib.nullcontext():
            return np.asarray(self.labels.read(layer, x, y, w, h, level=level))

    @property
    def depth(self) -> int:
        """Slices of a label volume seen through this view (1 for a 2-D reader)."""
        return int(getattr(self.labels, "depth", 1))

    def plane(self, z: int) -> LabelView:
        """Slice ``z`` of a label volume, through the same lock and classes."""
        if self.depth == 1 and z == 0:
            return self
        planes: Any = self.labels
        return LabelView(planes.plane(z), classes=self._classes, lock=self.lock)
