"""One-off work in a child process (ONNX exports): progress while it runs, no orphans.

PyTorch's exporters hold the GIL and much memory for seconds; a child process
keeps the caller responsive and cancellable. :func:`run_child` is the job side,
:func:`die_with_parent` the child side: a child started with the parent's pid
ends when the parent does, even by ``kill -9``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from segcore.jobs import Job, Progress

PARENT_POLL = 0.5  # seconds between the child's looks at its parent


def run_child(
    module: str, args: list[str], step: Progress, *, on_cancel: Callable[[], None]
) -> Job[tuple[int, str, str]]:
    """Run ``python -m module *args <our pid>``, yielding ``step`` twice a second.

    Returns (exit status, stdout, stderr). Closed before the child ends, it
    kills the child and calls ``on_cancel`` (to remove the child's temporary files).
    """
    cmd = [sys.executable, "-m", module, *args, str(os.getpid())]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while child.poll() is None:
            try:
                child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                yield step
        out, err = child.communicate()
    finally:
        if child.poll() is None:  # closed (cancelled): stop the child, drop its temp files
            child.kill()
            child.communicate()
            on_cancel()
    return child.returncode, out, err


def die_with_parent(parent: int) -> None:
    """End this (child) process soon after process ``parent`` ends, even by kill -9.

    On Linux the kernel does it (``PR_SET_PDEATHSIG``); elsewhere, and as a
    check on Linux, a daemon thread sees the process re-parented.
    """
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="tessera-parent-watch", daemon=True).start()
