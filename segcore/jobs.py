"""Long jobs are plain generators that yield :class:`Progress`.

A job (inference, training, export, building a pyramid level) is written as a
generator function. Whoever iterates it (the CLI's progress bar or the GUI's
worker thread) stops it by calling ``close()`` between two items; the job's
``finally`` blocks then clean up (temporary files removed, threads joined).
The generator's return value is the job's result.

Example
-------
>>> def count(n: int) -> Job[int]:
...     for i in range(n):
...         yield Progress(done=i + 1, total=n)
...     return n
>>> run_to_end(count(3))
3
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One step of a job: how far it is, and optionally a partial result."""

    done: int
    total: int
    message: str = ""
    rate: float | None = None  # units per second, e.g. pixels/s
    payload: Any = field(default=None, compare=False, repr=False)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total > 0 else 0.0


Job = Generator[Progress, None, T]


def run_to_end(job: Job[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drive ``job`` to completion and return its result.

    The job is closed however this ends (an error in ``on_progress``, Ctrl-C),
    so its ``finally`` blocks run now rather than when it is garbage-collected.
    """
    try:
        while True:
            try:
                step = next(job)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if on_progress is not None:
                on_progress(step)
    finally:
        job.close()


class Eta:
    """Estimates the remaining time of a job from its progress."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def seconds_left(self, done: int, total: int) -> float | None:
        elapsed = time.monotonic() - self._start
        if done <= 0 or elapsed <= 0:
            return None
        return elapsed / done * max(total - done, 0)


def relay(job: Job[T], step: Callable[[Progress], Progress]) -> Job[T]:
    """Re-yield ``job``'s progress passed through ``step`` (rescaled, relabelled, its
    payload taken) and return its result; closing this job closes ``job``."""
    try:
        while True:
            try:
                item = next(job)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            yield step(item)
    finally:
        job.close()


def scaled(job: Job[T], start: int, span: int, total: int) -> Job[T]:
    """Re-yield a sub-job's progress as ``start .. start + span`` out of ``total``."""
    return (yield from relay(job, lambda p: Progress(start + int(p.fraction * span), total)))
