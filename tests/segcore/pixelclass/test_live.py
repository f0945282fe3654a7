"""Live mode: retrain after a stroke, predict only what is stale, stop cleanly when closed."""

from __future__ import annotations

import numpy as np
from pixel_helpers import SMALL, scribbles

from segcore.engine import InferOptions, infer
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED
from segcore.pixelclass.live import TILE, LiveClassifier, LivePatch
from segcore.pixelclass.onnx_model import save_classifier
from segcore.pixelclass.train import classifier_meta
from segcore.synthetic import SCENE_CLASSES, make_scene


def patches(job: object) -> tuple[list[LivePatch], object]:
    out: list[LivePatch] = []
    while True:
        try:
            step = next(job)  # type: ignore[call-overload]
        except StopIteration as stop:
            return out, stop.value
        if isinstance(step.payload, LivePatch):
            out.append(step.payload)


def test_refresh_retrains_after_a_stroke_and_predicts_the_view(tmp_path) -> None:  # type: ignore[no-untyped-def]
    scene = make_scene(600, 520, seed=7)
    labels = np.full(scene.semantic.shape, UNLABELLED, np.uint8)
    labels[:260] = scribbles(scene.semantic)[:260]  # strokes in the top half only
    source = ArraySource(scene.image)
    live = LiveClassifier(source, ArrayLabels(labels), classes=SCENE_CLASSES, config=SMALL)
    view = Box(0, 0, 600, 520)

    got, result = patches(live.refresh(view))
    assert result.trained and live.version == 1
    assert len(got) == result.predicted == 3 * 3  # 256-px tiles of a 600 x 520 view
    assert (got[0].x, got[0].y) == (TILE, TILE)  # the centre tile first

    # nothing changed: nothing to do
    again, result = patches(live.refresh(view))
    assert again == [] and not result.trained

    # a stroke of a new class far away: retrain, then the whole view again
    labels[400:404, 100:300] = scene.semantic[400:404, 100:300]
    after, result = patches(live.refresh(view, changed=Box(100, 400, 200, 4)))
    assert result.trained and live.version == 2 and len(after) == 9
    assert sum(result.samples.values()) > 0

    # the live prediction is what the saved model gives through the engine
    clf = live.classifier
    assert clf is not None
    path = save_classifier(tmp_path / "live.onnx", clf, classifier_meta(clf, SMALL, _samples()))
    engine = run_to_end(infer(source, path, options=InferOptions(tile=128))).labels
    for patch in after:
        h, w = patch.labels.shape
        np.testing.assert_array_equal(
            patch.labels, engine[patch.y : patch.y + h, patch.x : patch.x + w]
        )
    live.close()


def test_a_closed_refresh_leaves_a_consistent_state() -> None:
    scene = make_scene(520, 520, seed=7)
    source = ArraySource(scene.image)
    live = LiveClassifier(
        source, ArrayLabels(scribbles(scene.semantic)), classes=SCENE_CLASSES, config=SMALL
    )
    view = Box(0, 0, 520, 520)
    job = live.refresh(view)
    for step in job:
        if step.payload is not None:  # the first tile is out: a new stroke arrives
            break
    job.close()
    rest, result = patches(live.refresh(view))
    assert not result.trained  # the labels were read and the forest fitted before
    assert len(rest) == 9 - 1  # only the tiles the closed refresh did not deliver
    live.close()


def _samples():  # type: ignore[no-untyped-def]
    from segcore.pixelclass.samples import Samples

    return Samples(
        np.zeros((0, 1), np.float32),
        np.zeros(0, np.uint8),
        np.zeros(256, np.int64),
        np.zeros(256, np.int64),
        0,
    )


def test_a_refresh_closed_before_its_refit_refits_next_time() -> None:
    scene = make_scene(300, 300, seed=7)
    labels = scribbles(scene.semantic)
    source = ArraySource(scene.image)
    live = LiveClassifier(source, ArrayLabels(labels), classes=SCENE_CLASSES, config=SMALL)
    view = Box(0, 0, 300, 300)
    run_to_end(live.refresh(view))
    labels[100:104, :] = 4  # a new stroke (trees), say
    live.mark_changed(Box(0, 100, 300, 4))
    job = live.refresh(view)
    steps = [next(job) for _ in range(2)]  # the two touched tiles are read...
    assert all(s.payload is None for s in steps)
    job.close()  # ...and a newer stroke arrives before the forest is refitted
    _, result = patches(live.refresh(view))
    assert result.trained and live.version == 2
    live.close()
