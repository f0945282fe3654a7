"""Embeddings cached per image, level and window; prompts -> masks; precompute and cancel;
a coarse-level mask painted into level-0 labels."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segcore.errors import LabelError
from segcore.jobs import run_to_end
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.labels.store import LabelStore
from segcore.models.sam.runtime import PromptModel
from segcore.prompt.commit import paint_window_mask
from segcore.prompt.embeddings import EmbeddingCache
from segcore.prompt.geometry import Window, grid
from segcore.prompt.precompute import precompute
from segcore.prompt.session import Prompts, PromptSession


class Counting:
    """The model, counting encoder runs."""

    def __init__(self, model: PromptModel) -> None:
        self.inner, self.calls = model, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        self.calls += 1
        return self.inner.encode(pixels)


def session_of(open_source: Any, model: PromptModel, **kw: Any) -> tuple[PromptSession, Counting]:
    counting = Counting(model)
    return PromptSession(open_source(), counting, **kw), counting  # type: ignore[arg-type]


def test_levels_and_view_window(open_source: Any, model: PromptModel) -> None:
    session, _ = session_of(open_source, model)
    assert session.levels.sizes == ((1500, 1100), (750, 550), (375, 275))
    w = session.window_for_view(Box(0, 0, 1500, 1100))  # whole image in a 256 input: level 2
    assert (w.level, w.x, w.y, w.w, w.h) == (2, 0, 0, 256, 256)
    w = session.window_for_view(Box(600, 400, 200, 200))  # fits at level 0
    assert (w.level, w.x, w.y) == (0, 512, 384)


def test_embedding_is_cached_and_reused_across_sessions(
    open_source: Any, model: PromptModel
) -> None:
    session, counting = session_of(open_source, model)
    w = session.window_for_view(Box(600, 400, 200, 200))
    first = session.embed(w)
    assert counting.calls == 1 and session.cache.has(w)
    again = session.embed(w)
    assert counting.calls == 1
    np.testing.assert_allclose(again["image_embeddings"], first["image_embeddings"], atol=2e-2)
    other, counting2 = session_of(open_source, model)  # a new session (a new process alike)
    other.embed(w)
    assert counting2.calls == 0


def test_changed_image_or_other_encoder_does_not_reuse(
    open_source: Any, model: PromptModel, image_file: Path
) -> None:
    session, _ = session_of(open_source, model)
    w = session.window_for_view(Box(600, 400, 200, 200))
    session.embed(w)
    st = image_file.stat()
    os.utime(image_file, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file was edited
    edited, counting = session_of(open_source, model)
    assert not edited.cache.has(w) and edited.cached(w) is None
    edited.embed(w)
    assert counting.calls == 1
    foreign = EmbeddingCache(edited.cache.folder.parent.name, "another-encoder")
    assert not foreign.has(w)


def test_cache_is_bounded_least_recently_used_first(tmp_path: Path) -> None:
    cache = EmbeddingCache("img", "enc", root=tmp_path / "emb", limit_bytes=10**9)
    ws = [Window(0, 512 * i, 0, 1024, 1024, 1024, 1.0, 1.0) for i in range(3)]
    value = {"image_embeddings": np.ones((1, 256, 64, 64), np.float32)}
    for i, w in enumerate(ws):
        cache.put(w, value)
        os.utime(cache.path(w), (1000 + i, 1000 + i))
    one = cache.size_bytes() // 3
    cache.get(ws[0])  # used now: the newest
    cache.limit_bytes = 2 * one + one // 2
    assert cache.prune() == 1
    assert [cache.has(w) for w in ws] == [True, False, True]
    assert not list((tmp_path / "emb").rglob(".*"))  # no temporary leftovers


def test_predict_gives_masks_over_the_window(open_source: Any, model: PromptModel) -> None:
    session, _ = session_of(open_source, model)
    w = session.window_for_view(Box(600, 400, 200, 200))
    emb = session.embed(w)
    pred = session.predict(w, emb, Prompts(((700.0, 500.0, 1),)))
    assert pred.masks.shape == (4, w.h, w.w) and pred.masks.dtype == bool
    assert pred.scores.shape == (4,) and pred.low_res is not None
    assert list(pred.scores[:3]) == sorted(pred.scores[:3], reverse=True)  # multimask first
    refined = session.predict(
        w, emb, Prompts(((700.0, 500.0, 1), (650.0, 450.0, 0))), previous=pred.low_res[0]
    )
    assert refined.masks.shape == pred.masks.shape
    with pytest.raises(LabelError, match="outside the image"):
        session.predict(w, emb, Prompts(((1600.0, 10.0, 1),)))


def test_prompt_near_an_inner_edge_recentres(open_source: Any, model: PromptModel) -> None:
    session, _ = session_of(open_source, model)
    w = session.window_for_view(Box(600, 400, 200, 200))  # x 512..768, y 384..640
    assert session.window_for(Prompts(((640.0, 512.0, 1),)), w) is w
    moved = session.window_for(Prompts(((520.0, 512.0, 1),)), w)  # 8 px from the left edge
    assert (moved.level, moved.x, moved.y) == (0, 384, 384)
    assert not moved.near_inner_edge(520.0, 512.0, session.levels)


def test_precompute_encodes_each_window_once_and_stops_when_closed(
    open_source: Any, model: PromptModel
) -> None:
    session, counting = session_of(open_source, model)
    windows = grid(session.levels, 1, session.size)
    # 750 x 550 at 128-px steps, the last moved in: x 0, 128, 256, 384, 494; y 0, 128, 256, 294
    assert len(windows) == 5 * 4
    job = precompute(session, 1)
    steps = [next(job), next(job), next(job)]  # the header and two windows
    job.close()
    assert steps[-1].done == 2 and steps[-1].total == len(windows)
    assert counting.calls == 2
    assert not list(session.cache.folder.glob(".*"))  # only whole entries
    assert run_to_end(precompute(session, 1)) == len(windows) - 2  # resumes
    assert counting.calls == len(windows)
    assert run_to_end(precompute(session, 1)) == 0


def test_coarse_mask_is_painted_at_level_zero_band_by_band(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segcore.prompt.commit as commit

    monkeypatch.setattr(commit, "BAND_PIXELS", 40)  # several bands even for this tiny mask
    store = LabelStore.create(tmp_path / "l.zarr", width=40, height=30, chunk=8)
    window = Window(level=2, x=1, y=1, w=8, h=6, size=8, fx=4.0, fy=4.0)
    mask = np.zeros((6, 8), bool)
    mask[1:3, 2:4] = True  # level-2 pixels x 3..4, y 2..3 -> level-0 x 12..19, y 8..15
    box = paint_window_mask(store, window, mask, paint=Paint(3, 7))
    assert box == Box(12, 8, 8, 8)
    sem = store.read("semantic", 0, 0, 40, 30)
    want = np.full((30, 40), 255, np.uint8)
    want[8:16, 12:20] = 3
    np.testing.assert_array_equal(sem, want)
    assert (store.read("instance", 0, 0, 40, 30) == 7).sum() == 64


def test_deduplicate_keeps_the_best_of_overlapping_masks() -> None:
    from segcore.prompt.everything import Proposal, deduplicate

    a = np.zeros((10, 10), bool)
    a[0:5, 0:5] = True  # 25 px
    part = np.zeros((10, 10), bool)
    part[0:4, 0:4] = True  # inside a: overlap 16 / 16
    other = np.zeros((10, 10), bool)
    other[6:9, 6:9] = True
    kept = deduplicate(
        [Proposal(part, 0.9), Proposal(a, 0.8), Proposal(other, 0.7)], max_overlap=0.7
    )
    assert [k.score for k in kept] == [0.9, 0.7]  # a is mostly the better-scored part


def test_everything_in_view_decodes_a_grid_and_stops_when_closed(
    open_source: Any, model: PromptModel
) -> None:
    from segcore.prompt.everything import propose

    session, _ = session_of(open_source, model)
    w = session.window_for_view(Box(600, 400, 200, 200))
    emb = session.embed(w)
    found = run_to_end(propose(session, w, emb, per_side=4, min_score=-1e9, min_area=1))
    assert all(p.mask.shape == (w.h, w.w) and p.mask.sum() >= 1 for p in found)
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
    job = propose(session, w, emb, per_side=4)
    steps = [next(job), next(job)]
    job.close()
    assert steps[-1].done == 1 and steps[-1].total == 16


def test_cut_off_only_at_inner_edges() -> None:
    from segcore.prompt.geometry import Levels
    from segcore.prompt.session import Prediction

    levels = Levels(((100, 50),))
    w = Window(0, 40, 0, 40, 40, 40, 1.0, 1.0)  # x 40..80 of 100, y 0..40 of 50
    masks = np.zeros((3, 40, 40), bool)
    masks[0, 0:5, 10:20] = True  # top row: the image's own edge
    masks[1, 10:20, 0:3] = True  # left column: an inner edge (x 40 > 0)
    masks[2, 39, 5] = True  # bottom row: inner (y 40 < 50)
    pred = Prediction(w, masks, np.zeros(3))
    assert [pred.cut_off(i, levels) for i in range(3)] == [False, True, True]


def test_refine_coarser_cuts_the_fine_window_out_of_the_coarse_mask(
    open_source: Any, model: PromptModel, tmp_path: Path
) -> None:
    from segcore.prompt.refine import Refined, paint_refined, refine_coarser
    from segcore.prompt.session import Prediction

    session, _ = session_of(open_source, model)
    fine = session.window_for_view(Box(600, 400, 200, 200))  # level 0, x 512..768, y 384..640
    prompts = Prompts(((700.0, 500.0, 1),))
    pred = session.predict(fine, session.embed(fine), prompts)
    full = Prediction(fine, np.ones_like(pred.masks), pred.scores)  # a mask filling the window
    refined = run_to_end(refine_coarser(session, full, 0, prompts))
    assert isinstance(refined, Refined) and refined.coarse.level == 1
    c = refined.coarse
    # level-1 pixels whose centres lie in level-0 x 512..768, y 384..640: x 256..383, y 192..319
    inside = refined.coarse_mask[192 - c.y : 320 - c.y, 256 - c.x : 384 - c.x]
    assert c.x <= 256 and c.y <= 192 and not inside.any()
    store = LabelStore.create(tmp_path / "l.zarr", width=1500, height=1100, chunk=64)
    box = paint_refined(store, refined, paint=Paint(1))
    sem = store.read("semantic", 512, 384, 256, 256)
    assert (sem == 1).all() and box.x <= 512 and box.x1 >= 768  # the fine mask, whole
    top = Prediction(session.window_for_view(Box(0, 0, 1500, 1100)), pred.masks, pred.scores)
    assert run_to_end(refine_coarser(session, top, 0, prompts)) is None  # no coarser level
