"""Run a segcore job (a generator yielding Progress) off the GUI thread.

Modelled on the idea of superqt's ``thread_worker``: a :class:`Worker` is a
QObject with four signals -- ``yielded`` (each item), ``returned`` (the
generator's return value), ``errored`` (the exception) and ``finished``
(always, last) -- emitted from a pool thread and delivered, queued, on the
GUI thread. ``close()`` asks the job to stop: the worker stops pulling items
and calls the generator's ``close()``, so its ``finally`` blocks clean up,
between two items. A plain function runs the same way (no ``yielded``).

Example
-------
>>> worker = Worker(lambda: engine_job(...))  # doctest: +SKIP
>>> worker.yielded.connect(progress_bar.update)  # doctest: +SKIP
>>> worker.errored.connect(errors.report)  # doctest: +SKIP
>>> worker.start()  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

_JOB_POOL: QThreadPool | None = None
_RUNNING: set[Worker] = set()  # keeps workers alive until they finish


def job_pool() -> QThreadPool:
    """The pool long jobs run in (separate from tile reads, so tiles never wait on a job)."""
    global _JOB_POOL
    if _JOB_POOL is None:
        _JOB_POOL = QThreadPool()
        _JOB_POOL.setMaxThreadCount(2)
    return _JOB_POOL


def wait_for_jobs(msecs: int = -1) -> bool:
    """Ask every running worker to stop and wait for them (window close, tests)."""
    for worker in list(_RUNNING):
        worker.close()
    return bool(job_pool().waitForDone(msecs))


class Worker(QObject):
    """Runs ``job()`` in :func:`job_pool`; see the module docstring."""

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()

    def __init__(self, job: Callable[[], Any]) -> None:
        # No Qt parent: a parent deleted mid-run would delete the C++ object under the thread.
        super().__init__()
        self._job = job
        self._stop = threading.Event()
        self._done = threading.Event()
        self.started = False
        self.finished.connect(self._release)

    @property
    def abort_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def is_running(self) -> bool:
        return self.started and not self._done.is_set()

    def start(self) -> Worker:
        if self.started:
            raise RuntimeError("a Worker runs once; make a new one")
        self.started = True
        _RUNNING.add(self)
        job_pool().start(self._run)
        return self

    def close(self) -> None:
        """Stop after the current item; the generator's finally blocks run."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (True) or ``timeout`` seconds passed (False)."""
        return self._done.wait(timeout)

    def _release(self) -> None:
        _RUNNING.discard(self)

    def _run(self) -> None:
        try:
            result = self._job()
            if inspect.isgenerator(result):
                result = self._drive(result)
            if not self._stop.is_set():
                self.returned.emit(result)
        except Exception as exc:  # delivered to the GUI thread's one error handler
            self.errored.emit(exc)
        finally:
            self._done.set()
            self.finished.emit()

    def _drive(self, gen: Any) -> Any:
        try:
            while not self._stop.is_set():
                try:
                    item = next(gen)
                except StopIteration as stop:
                    return stop.value
                self.yielded.emit(item)
            return None
        finally:
            gen.close()  # runs the job's cleanup now, in this thread
