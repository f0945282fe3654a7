"""Fill the embedding cache for a whole level (or a region of it) as a job."""

from __future__ import annotations

import time

from segcore.jobs import Job, Progress
from segcore.labels.box import Box
from segcore.prompt.geometry import grid
from segcore.prompt.session import PromptSession


def precompute(session: PromptSession, level: int, *, region: Box | None = None) -> Job[int]:
    """Encode every grid window of ``level`` meeting ``region`` that is not cached yet.

    Yields progress per window (windows already cached count as done at once);
    closing the job stops it between two windows, leaving only whole entries.
    Returns the number of windows encoded.
    """
    windows = grid(session.levels, level, session.size, region)
    start, encoded = time.monotonic(), 0
    yield Progress(0, len(windows), message=f"embeddings of level {level}: {len(windows)} windows")
    for i, window in enumerate(windows):
        if not session.cache.has(window):
            session.embed(window)
            encoded += 1
        elapsed = time.monotonic() - start
        yield Progress(
            i + 1, len(windows), message=f"level {level}, window {i + 1}/{len(windows)}",
            rate=encoded / elapsed if elapsed > 0 else None,
        )  # fmt: skip
    return encoded
