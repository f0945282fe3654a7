"""Run a segcore job (a generator yielding Progress) off the GUI thread.

Modelled on the idea of superqt's ``thread_worker``: a :class:`Worker` is a
QObject with four signals -- ``yielded`` (each item), ``returned`` (the
generator's return value), ``errored`` (the exception) and ``finished``
(always, last) -- emitted from a pool thread and delivered, queued, on the
GUI thread. ``close()`` asks the job to stop: the worker stops pulling items
and calls the generator's ``close()``, so its ``finally`` blocks clean up,
between two items. A plain function runs the same way (no ``yielded``).

Features do not wire workers by hand: a :class:`JobSlot` (superqt's
``create_worker(..., _connect={...})`` is the model) holds one feature's job,
connects the four handlers to each worker it starts, sends errors to the one
error dialog, and cancels and waits on close; :class:`Jobs` makes the slots and
shuts them all down when the window closes.

Example
-------
>>> slot = jobs.slot("export the labels", yielded=bar.update, returned=done)  # doctest: +SKIP
>>> slot.start(lambda: export(items, "png", folder))  # doctest: +SKIP
>>> slot.running, slot.cancelled  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

Handler = Callable[[Any], object]

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


class JobSlot(QObject):
    """One feature's job at a time, with its handlers wired to every worker it starts.

    ``yielded(item)``, ``returned(value)``, ``errored(exc)`` and ``finished()``
    run on the GUI thread for the slot's current job only: a job replaced by a
    newer one is silent, except that what it returned goes to ``stale(value)``
    (to close an image it opened, say). Without ``errored`` an error goes to the
    one error dialog, with ``context`` saying what failed.
    """

    def __init__(
        self,
        context: str,
        *,
        yielded: Handler | None = None,
        returned: Handler | None = None,
        errored: Handler | None = None,
        finished: Callable[[], object] | None = None,
        stale: Handler | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self._yielded, self._returned, self._finished = yielded, returned, finished
        self._errored, self._stale = errored, stale
        self.worker: Worker | None = None  # the current (or last) job
        self._busy = False

    @property
    def running(self) -> bool:
        """Whether the current job's thread is still working."""
        return self.worker is not None and self.worker.is_running

    @property
    def busy(self) -> bool:
        """From ``start`` until the current job's ``finished`` has been handled here
        (its ``returned`` or ``errored`` handled too): what a form waits for."""
        return self._busy

    @property
    def cancelled(self) -> bool:
        """Whether the current (or last) job was asked to stop."""
        return self.worker is not None and self.worker.abort_requested

    def start(self, job: Callable[[], Any], *, replace: bool = False) -> Worker | None:
        """Run ``job()`` in a worker; None if a job is running (``replace`` cancels it)."""
        if self.running:
            if not replace:
                return None
            self.cancel()
        worker = Worker(job)
        worker.yielded.connect(lambda item: self._deliver(worker, self._yielded, item))
        worker.returned.connect(lambda value: self._arrived(worker, value))
        worker.errored.connect(lambda exc: self._deliver(worker, self._report, exc))
        worker.finished.connect(lambda: self._ended(worker))
        self.worker, self._busy = worker, True
        return worker.start()

    def cancel(self) -> None:
        """Ask the current job to stop between two items (its cleanup then runs)."""
        if self.worker is not None:
            self.worker.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current job has ended (True) or ``timeout`` seconds passed."""
        return self.worker is None or self.worker.wait(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel the current job and wait for it to end (closing, switching images)."""
        worker = self.worker
        if worker is not None:
            worker.close()
            worker.wait(timeout)

    def _report(self, exc: BaseException) -> None:
        if self._errored is not None:
            self._errored(exc)
        else:
            from app import errors

            errors.report(exc, context=self.context)

    def _arrived(self, worker: Worker, value: Any) -> None:
        handler = self._returned if worker is self.worker else self._stale
        if handler is not None:
            handler(value)

    def _ended(self, worker: Worker) -> None:
        if worker is self.worker:
            self._busy = False
            if self._finished is not None:
                self._finished()

    def _deliver(self, worker: Worker, handler: Callable[..., object] | None, *args: Any) -> None:
        if handler is not None and worker is self.worker:
            handler(*args)


class Jobs(QObject):
    """Makes :class:`JobSlot` s and shuts them all down at once (the window closing)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._slots: list[JobSlot] = []

    def slot(self, context: str, **handlers: Any) -> JobSlot:
        """A new slot (see :class:`JobSlot` for the handlers)."""
        slot = JobSlot(context, parent=self, **handlers)
        self._slots.append(slot)
        return slot

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel every slot's job, then wait for each."""
        for slot in self._slots:
            slot.cancel()
        for slot in self._slots:
            slot.shutdown(timeout)
