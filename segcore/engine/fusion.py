"""Panoptic fusion: stuff from a semantic prediction, things from an instance prediction.

The rules of Panoptic FPN (Kirillov et al., 2019; detectron2's
``combine_semantic_and_instance_outputs``): objects scoring below ``score``
are dropped; kept objects take their pixels (an instance map's objects are
already disjoint, so no overlap between objects is left to resolve); the
other pixels take the semantic class if it is a stuff class, and a stuff class
whose remaining area over the whole image is below ``min_stuff_area`` becomes
void (UNLABELLED); thing-class pixels of the semantic map without an object
are void too.

:func:`stuff_areas` is one pass over windows; :class:`FusedLabels` is then a
label reader that fuses any window on demand, so exporters (COCO panoptic)
and writers stream it in bounded memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.errors import InferenceError
from segcore.jobs import Job, Progress
from segcore.labels.box import windows
from segcore.labels.reader import LabelReader, Layer, OneLevel
from segcore.labels.schema import UNLABELLED, ClassInfo


@dataclass(frozen=True)
class FusionRules:
    """Panoptic FPN's thresholds: object score, and the smallest stuff area (pixels)."""

    score: float = 0.5
    min_stuff_area: int = 4096


def class_lut(semantic: Sequence[ClassInfo], instance: Sequence[ClassInfo]) -> NDArray[np.uint8]:
    """Instance-model class id -> semantic-model class id, by name, for the object classes.

    Raises InferenceError when an object class of the instance model is not a
    thing class of the semantic model's list.
    """
    by_name = {c.name: c for c in semantic}
    lut = np.full(256, UNLABELLED, np.uint8)
    for c in instance:
        if c.id == 0 and not c.thing:
            continue  # the instance model's background
        match = by_name.get(c.name)
        if match is None or not match.thing:
            known = ", ".join(x.name for x in semantic if x.thing) or "none"
            raise InferenceError(
                f"object class {c.name!r} of the instance model is not a thing class of the "
                f"semantic model (its thing classes: {known}); rename one or mark it a thing"
            )
        lut[c.id] = match.id
    return lut


class FusedLabels(OneLevel):
    """The panoptic labels of ``semantic`` + ``objects``, fused window by window.

    ``objects`` reads the instance prediction (``"semantic"``: its classes in
    the instance model's ids, ``"instance"``: object ids); ``scores`` maps object
    ids to their scores (absent: 1.0); ``kept_stuff`` are the stuff class ids
    whose area passed :func:`stuff_areas`.
    """

    def __init__(
        self,
        semantic: LabelReader,
        objects: LabelReader,
        *,
        classes: Sequence[ClassInfo],
        lut: NDArray[np.uint8],
        scores: Mapping[int, float],
        rules: FusionRules,
        kept_stuff: frozenset[int] | None = None,
    ) -> None:
        if (semantic.width, semantic.height) != (objects.width, objects.height):
            raise InferenceError(
                f"the semantic prediction is {semantic.width} x {semantic.height} but the "
                f"instance prediction {objects.width} x {objects.height}; fuse the same image"
            )
        self.width, self.height = semantic.width, semantic.height
        self.classes: tuple[ClassInfo, ...] = tuple(classes)
        self._semantic, self._objects, self._lut = semantic, objects, lut
        self._scores, self._rules = dict(scores), rules
        self._stuff = np.zeros(256, bool)
        for c in self.classes:
            self._stuff[c.id] = not c.thing and c.id != UNLABELLED
        self._kept = self._stuff.copy()
        if kept_stuff is not None:
            self._kept[:] = False
            self._kept[list(kept_stuff)] = True
            self._kept &= self._stuff

    @property
    def rules(self) -> FusionRules:
        return self._rules

    def keeping(self, kept_stuff: frozenset[int]) -> FusedLabels:
        """This fusion with the stuff area rule applied (``kept_stuff``: :func:`stuff_areas`)."""
        return FusedLabels(
            self._semantic,
            self._objects,
            classes=self.classes,
            lut=self._lut,
            scores=self._scores,
            rules=self._rules,
            kept_stuff=kept_stuff,
        )

    def _things(self, x: int, y: int, w: int, h: int) -> tuple[NDArray[Any], NDArray[Any]]:
        """(kept object ids, their classes in the semantic ids) of a window."""
        ids = self._objects.read("instance", x, y, w, h)
        cls = self._lut[self._objects.read("semantic", x, y, w, h)]
        unique, inverse = np.unique(ids, return_inverse=True)
        ok = np.array(
            [
                u != 0 and self._scores.get(int(u), 1.0) >= self._rules.score
                for u in unique.tolist()
            ],
            bool,
        )
        keep = ok[inverse.reshape(ids.shape)] & (cls != UNLABELLED)
        return np.where(keep, ids, 0).astype(np.uint32), cls

    def stuff(self, x: int, y: int, w: int, h: int) -> NDArray[np.uint8]:
        """Stuff classes of the semantic map where no kept object is (before the area rule)."""
        ids, _ = self._things(x, y, w, h)
        sem = self._semantic.read("semantic", x, y, w, h)
        return np.where((ids == 0) & self._stuff[sem], sem, UNLABELLED).astype(np.uint8)

    def read(self, layer: Layer, x: int, y: int, w: int, h: int, *, level: int = 0) -> NDArray[Any]:
        self.level_size(level)
        ids, cls = self._things(x, y, w, h)
        if layer == "instance":
            return ids
        sem = self._semantic.read("semantic", x, y, w, h)
        stuff = np.where(self._kept[sem], sem, UNLABELLED)
        return np.where(ids > 0, cls, stuff).astype(np.uint8)


def stuff_areas(fused: FusedLabels, *, window: int = 2048) -> Job[frozenset[int]]:
    """The stuff classes whose area, outside kept objects, reaches the rule's minimum."""
    counts = np.zeros(256, np.int64)
    total, done = fused.width * fused.height, 0
    for x, y, w, h in windows(fused.width, fused.height, window):
        counts += np.bincount(fused.stuff(x, y, w, h).ravel(), minlength=256)
        done += w * h
        yield Progress(done, total, message="stuff areas")
    counts[UNLABELLED] = 0
    return frozenset(np.flatnonzero(counts >= fused.rules.min_stuff_area).tolist())
