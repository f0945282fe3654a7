"""The one way a subcommand drives a job: :func:`run_job` with a progress line on stderr.

On a terminal the line is redrawn in place (at most five times a second);
redirected to a file it is written as a plain line every ten seconds and at the
end. Whatever happens (the end, an error, Ctrl-C, ``kill``) the job is
closed, so its ``finally`` blocks remove partial files and join threads.

>>> result = run_job(export(items, "png", out), "tessera export")  # doctest: +SKIP
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

from segcore.jobs import Eta, Job, Progress, run_to_end

T = TypeVar("T")
Detail = Callable[[Progress], str]


class ProgressLine:
    """``[#####.....]  45% <detail> ETA 1:02`` on ``stream``.

    ``detail(step)`` says what the job is doing (default: the step's message).
    With ``notes``, step messages are printed on lines of their own instead
    (``tessera infer: note: ...``), each once (a repeated message is not).
    """

    def __init__(
        self,
        stream: TextIO,
        command: str,
        *,
        detail: Detail | None = None,
        notes: bool = False,
        width: int = 30,
    ) -> None:
        self.stream, self.command, self.width = stream, command, width
        self.detail = detail or (lambda step: step.message)
        self.notes = notes
        self.tty = stream.isatty()
        self.eta = Eta()
        self._last = 0.0
        self._drawn = False
        self._note = ""

    def update(self, step: Progress) -> None:
        if self.notes and step.message and step.message != self._note:
            self._note = step.message
            self._newline()
            self.stream.write(f"{self.command}: note: {step.message}\n")
        now = time.monotonic()
        final = step.done >= step.total
        if not final and now - self._last < (0.2 if self.tty else 10.0):
            return
        self._last = now
        fraction = min(step.fraction, 1.0)
        filled = int(self.width * fraction)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * fraction:3.0f}%"
        detail = "" if self.notes and step.message else self.detail(step)
        line += f" {detail}" if detail else ""
        left = self.eta.seconds_left(step.done, step.total)
        if left is not None and not final:
            line += f" ETA {int(left) // 60}:{int(left) % 60:02d}"
        if self.tty:
            self.stream.write("\r" + line.ljust(99))
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _newline(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False

    def end(self) -> None:
        self._newline()
        self.stream.flush()


def run_job(
    job: Job[T],
    command: str,
    *,
    detail: Detail | None = None,
    notes: bool = False,
    quiet: bool = False,
    stream: TextIO | None = None,
) -> T:
    """Drive ``job`` to its end with a :class:`ProgressLine`; return its result.

    ``quiet`` draws nothing. ``kill`` (SIGTERM) stops the job like Ctrl-C.
    """
    line = (
        None if quiet else ProgressLine(stream or sys.stderr, command, detail=detail, notes=notes)
    )
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        return run_to_end(job, None if line is None else line.update)
    finally:
        if line is not None:
            line.end()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
