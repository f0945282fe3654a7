"""The worker helper: signals, results, errors, and cancelling between items."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from app.worker import Worker
from segcore.jobs import Progress


def counting(n: int, log: list[str], gate: threading.Semaphore | None = None) -> Generator:
    try:
        for i in range(n):
            if gate is not None:
                gate.acquire(timeout=5)  # one permit per item
            yield Progress(i + 1, n)
        return "all done"
    finally:
        log.append("cleaned up")


def test_yields_then_returns_then_finishes(qtbot) -> None:  # type: ignore[no-untyped-def]
    log: list[str] = []
    seen: list[int] = []
    worker = Worker(lambda: counting(3, log))
    returned: list[object] = []
    worker.yielded.connect(lambda p: seen.append(p.done))
    worker.returned.connect(returned.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    assert returned == ["all done"]
    assert seen == [1, 2, 3] and log == ["cleaned up"]
    assert not worker.is_running


def test_a_plain_function_returns_its_value(qtbot) -> None:  # type: ignore[no-untyped-def]
    worker = Worker(lambda: 6 * 7)
    with qtbot.waitSignal(worker.returned, timeout=5000) as signal:
        worker.start()
    assert signal.args == [42]
    with pytest.raises(RuntimeError):
        worker.start()


def test_errors_are_delivered_not_raised(qtbot) -> None:  # type: ignore[no-untyped-def]
    def broken() -> Generator:
        yield Progress(1, 2)
        raise ValueError("bad tile")

    worker = Worker(broken)
    failures: list[BaseException] = []
    worker.errored.connect(failures.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    assert len(failures) == 1
    assert isinstance(failures[0], ValueError) and str(failures[0]) == "bad tile"


def test_close_stops_between_items_and_runs_cleanup(qtbot) -> None:  # type: ignore[no-untyped-def]
    log: list[str] = []
    seen: list[int] = []
    gate = threading.Semaphore(0)
    worker = Worker(lambda: counting(1000, log, gate))
    worker.yielded.connect(lambda p: seen.append(p.done))
    returned: list[object] = []
    worker.returned.connect(returned.append)
    worker.start()
    gate.release(2)
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=5000)
    worker.close()
    gate.release(1)  # the job is waiting for its third item: let it reach the check
    assert worker.wait(5)
    qtbot.waitUntil(lambda: not worker.is_running)
    assert log == ["cleaned up"]
    assert returned == []  # a cancelled job returns nothing
    assert worker.abort_requested and len(seen) <= 3
