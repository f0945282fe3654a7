"""Ends a ``tessera`` process right after its first painted frame (benchmarks only).

Put this folder on ``PYTHONPATH`` and Python imports this module at start-up.
It wraps ``CanvasView.paintEvent`` when ``app.canvas.view`` is first imported;
after the first paint that shows an image it appends ``time.perf_counter()``
(the system-wide monotonic clock on Linux) to ``$TESSERA_PROBE_OUT`` when set
and exits at once, so the process's wall time, timed from outside, is
launch -> first frame. The desktop bundle's build (``packaging/build_bundle.py``)
adds this file as a PyInstaller runtime hook; there it does nothing unless
``TESSERA_PROBE_FIRST_FRAME=1`` is set.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import time
from typing import Any

TARGET = "app.canvas.view"


def _wrap(module: Any) -> None:
    view = module.CanvasView
    paint = view.paintEvent

    def paint_and_exit(self: Any, event: Any) -> None:
        paint(self, event)
        if self.frames > 0:
            out = os.environ.get("TESSERA_PROBE_OUT")
            if out:
                with open(out, "a", encoding="utf-8") as f:
                    f.write(f"{time.perf_counter():.4f}\n")
            sys.stdout.flush()
            os._exit(0)

    view.paintEvent = paint_and_exit


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        spec = None
        for finder in sys.meta_path:  # the next finder that knows it (a frozen app's own)
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            _wrap(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if not getattr(sys, "frozen", False) or os.environ.get("TESSERA_PROBE_FIRST_FRAME") == "1":
    sys.meta_path.insert(0, _Finder())
