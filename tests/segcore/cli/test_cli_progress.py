"""The CLI's one job driver: a progress line, the result, and the job closed however it ends."""

from __future__ import annotations

import io
import os
import signal

import pytest

from segcore.cli.progress import run_job
from segcore.jobs import Job, Progress


def _job(log: list[str], message: str = "") -> Job[int]:
    try:
        for i in range(3):
            yield Progress(i + 1, 3, message)
        return 7
    finally:
        log.append("closed")


def test_returns_the_result_and_ends_with_a_full_line() -> None:
    log: list[str] = []
    out = io.StringIO()  # not a terminal: plain lines, the first and the last
    assert run_job(_job(log), "tessera x", detail=lambda s: f"step {s.done}", stream=out) == 7
    lines = out.getvalue().splitlines()
    assert lines[-1] == f"[{'#' * 30}] 100% step 3"
    assert "  33% step 1" in lines[0] and log == ["closed"]


def test_notes_are_printed_once_each() -> None:
    out = io.StringIO()
    run_job(_job([], "tile 512 px"), "tessera infer", notes=True, stream=out)
    assert out.getvalue().count("tessera infer: note: tile 512 px\n") == 1


def test_kill_stops_the_job_and_closes_it() -> None:
    log: list[str] = []
    before = signal.getsignal(signal.SIGTERM)

    def detail(step: Progress) -> str:
        os.kill(os.getpid(), signal.SIGTERM)  # `kill` arrives while the job runs
        return ""

    with pytest.raises(KeyboardInterrupt):
        run_job(_job(log), "tessera x", detail=detail, stream=io.StringIO())
    assert log == ["closed"]  # its finally ran now, not at garbage collection
    assert signal.getsignal(signal.SIGTERM) is before


def test_quiet_draws_nothing() -> None:
    out = io.StringIO()
    assert run_job(_job([]), "tessera x", quiet=True, stream=out) == 7
    assert out.getvalue() == ""
