"""Instance proposals for a whole window ("segment everything in view").

A grid of single-point prompts over the window, the best candidate of each
kept when its predicted IoU and area are high enough, then duplicates removed
greedily by mask IoU (highest score first), as SAM's automatic mask generator
does, without its crops and stability filtering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcore.jobs import Job, Progress
from segcore.models.sam.runtime import Embedding
from segcore.prompt.geometry import Window
from segcore.prompt.session import Prompts, PromptSession


@dataclass(frozen=True)
class Proposal:
    """One proposed object: its mask over the window and the model's predicted IoU."""

    mask: np.ndarray  # (h, w) bool, window pixels
    score: float


def propose(
    session: PromptSession,
    window: Window,
    embedding: Embedding,
    *,
    per_side: int = 16,
    min_score: float = 0.6,
    min_area: int = 16,
    max_overlap: float = 0.7,
) -> Job[list[Proposal]]:
    """Proposals from a ``per_side`` x ``per_side`` grid of clicks (a job: progress per
    click, stopped by closing it between two clicks). Best score first."""
    found: list[Proposal] = []
    total = per_side * per_side
    yield Progress(0, total, message="segmenting everything in view")
    for i in range(total):
        u = (i % per_side + 0.5) * window.w / per_side - 0.5  # window pixels
        v = (i // per_side + 0.5) * window.h / per_side - 0.5
        x0 = (window.x + u + 0.5) * window.fx - 0.5
        y0 = (window.y + v + 0.5) * window.fy - 0.5
        pred = session.predict(window, embedding, Prompts(((x0, y0, 1),)))
        score, mask = float(pred.scores[0]), pred.masks[0]
        if score >= min_score and int(mask.sum()) >= min_area:
            found.append(Proposal(mask, score))
        yield Progress(i + 1, total, message=f"{len(found)} candidates")
    return deduplicate(found, max_overlap=max_overlap)


def deduplicate(proposals: list[Proposal], *, max_overlap: float) -> list[Proposal]:
    """Keep the best-scored of every group whose masks overlap more than ``max_overlap``
    (intersection over the smaller mask: a part of a kept object is dropped too)."""
    kept: list[Proposal] = []
    for p in sorted(proposals, key=lambda q: -q.score):
        area = int(p.mask.sum())
        if all(
            np.logical_and(p.mask, k.mask).sum() <= max_overlap * min(area, int(k.mask.sum()))
            for k in kept
        ):
            kept.append(p)
    return kept
