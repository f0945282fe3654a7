"""Time the Model dock on the bundled sample: launch, then a run on the whole image.

    uv run python bench/model_dock_bench.py

Offscreen, through the real start-up path (``app.main.launch``, as ``uv run tessera``)
and the dock's own ``run("all")``, so the time includes loading the model in the
worker. Prints one line.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
STARTED = time.perf_counter()


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from app.main import launch

    window = launch([])
    qapp = QApplication.instance()
    assert qapp is not None

    def wait(done: object, timeout: float) -> None:
        end = time.perf_counter() + timeout
        while not done() and time.perf_counter() < end:  # type: ignore[operator]
            qapp.processEvents()
            time.sleep(0.005)

    session, dock = window.session, window.model_dock
    wait(lambda: session.document is not None and session.model is not None, 60)
    ready = time.perf_counter()
    dock.run("all")
    wait(lambda: dock.is_running, 10)
    wait(lambda: not dock.is_running, 120)
    done = time.perf_counter()
    print(
        f"sample and model ready {ready - STARTED:.2f} s after start; "
        f"Model dock run on the whole {'x'.join(map(str, session.document.size))} "  # type: ignore[union-attr]
        f"sample {done - ready:.2f} s"
    )
    window.close()


if __name__ == "__main__":
    main()
