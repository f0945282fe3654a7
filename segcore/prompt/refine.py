"""A mask that runs past its window: found again one level coarser, kept fine inside.

When the chosen mask reaches an inner edge of its window, the object goes on
beyond what the encoder saw. The same prompts are decoded on the window of the
next coarser level centred on them (encoded now if it is not cached); the
result is that coarse mask outside the fine window and the fine mask inside it
(the fine level's boundary where the fine level saw the object), painted in one
edit by :func:`paint_refined`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from segcore.jobs import Job, Progress
from segcore.labels.box import Box
from segcore.labels.edits.common import Paint
from segcore.labels.store import LabelStore
from segcore.prompt.commit import paint_window_mask
from segcore.prompt.geometry import Window, window_at
from segcore.prompt.session import Prediction, Prompts, PromptSession


@dataclass(frozen=True)
class Refined:
    """The coarse window's mask (fine window cut out) and the fine window's mask."""

    coarse: Window
    coarse_mask: np.ndarray
    fine: Window
    fine_mask: np.ndarray


def refine_coarser(
    session: PromptSession, prediction: Prediction, choice: int, prompts: Prompts
) -> Job[Refined | None]:
    """The refinement of candidate ``choice`` (a job: encoding may take seconds).

    Returns None when there is no coarser level.
    """
    fine = prediction.window
    if fine.level + 1 >= len(session.levels.sizes):
        return None
    spots = prompts.positions()
    cx = (min(p[0] for p in spots) + max(p[0] for p in spots)) / 2
    cy = (min(p[1] for p in spots) + max(p[1] for p in spots)) / 2
    coarse = window_at(session.levels, fine.level + 1, cx, cy, session.size)
    yield Progress(0, 1, message=f"refining at level {coarse.level}")
    embedding = session.embed(coarse)
    mask = session.predict(coarse, embedding, prompts).masks[0].copy()
    # Cut out the coarse pixels whose centres lie in the fine window (level-0 box).
    box = fine.level0_box()
    x0 = max(math.ceil((box.x + 0.5) / coarse.fx - 0.5) - coarse.x, 0)
    y0 = max(math.ceil((box.y + 0.5) / coarse.fy - 0.5) - coarse.y, 0)
    x1 = min(math.floor((box.x1 - 0.5) / coarse.fx - 0.5) - coarse.x + 1, coarse.w)
    y1 = min(math.floor((box.y1 - 0.5) / coarse.fy - 0.5) - coarse.y + 1, coarse.h)
    if x1 > x0 and y1 > y0:
        mask[y0:y1, x0:x1] = False
    yield Progress(1, 1)
    return Refined(coarse, mask, fine, prediction.masks[choice].copy())


def paint_refined(store: LabelStore, refined: Refined, *, paint: Paint) -> Box:
    """Paint a :class:`Refined` mask (both parts) as one edit."""
    a = paint_window_mask(store, refined.coarse, refined.coarse_mask, paint=paint)
    b = paint_window_mask(store, refined.fine, refined.fine_mask, paint=paint)
    return a.union(b)
