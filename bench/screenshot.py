"""Render the main window to ``docs/images/app.png`` (offscreen, no display needed).

    uv run python bench/screenshot.py [--out docs/images/app.png] [--size 1500x920]

Opens the bundled sample; when its model is bundled too, runs it on the whole
sample so the prediction overlay shows; otherwise shows a synthetic scene
with its panoptic labels. The status bar shows what is under a point in the
middle of the image, as if the mouse were there.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent


def pump(qapp: Any, until: Any, timeout: float) -> None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end and not until():
        qapp.processEvents()
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "app.png")
    parser.add_argument("--size", default="1500x920")
    parser.add_argument("--synthetic", action="store_true", help="show a synthetic scene")
    args = parser.parse_args()
    settings = Path("/tmp/tessera_screenshot_settings.ini")
    settings.unlink(missing_ok=True)  # the default layout, not the last run's
    os.environ["TESSERA_SETTINGS"] = str(settings)

    from app.main import make_application
    from app.session import SAMPLE_IMAGE, SAMPLE_MODEL
    from app.window import MainWindow

    qapp = make_application()
    window = MainWindow()
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    canvas, session = window.canvas, window.session
    use_sample = SAMPLE_IMAGE.is_file() and not args.synthetic
    worker = window.open_sample() if use_sample else window.open_synthetic()
    pump(qapp, lambda: session.document is not None, 120)
    if worker is not None:
        worker.wait(60)
    if use_sample and SAMPLE_MODEL.is_file():
        pump(qapp, lambda: session.model is not None, 30)
        window.model_dock.run("image")
        pump(qapp, lambda: not window.model_dock.is_running, 300)
        pump(qapp, lambda: False, 0.3)
        window.layers_dock.select("prediction")
    else:
        panoptic = canvas.layer("panoptic")
        semantic = canvas.layer("semantic")
        if panoptic is not None and semantic is not None:
            semantic.visible, panoptic.visible, panoptic.opacity = False, True, 0.55
            window.layers_dock.refresh()
            window.layers_dock.select("panoptic")
    canvas.fit()
    for _ in range(200):  # until every visible tile is sharp
        canvas.grab()
        pump(qapp, lambda: not canvas.loader.busy, 0.05)
        if not canvas.loader.busy:
            break
    pump(qapp, lambda: False, 0.3)  # let the view come to rest (filtered drawing)
    w, h = canvas.image_size
    canvas.hovered.emit((w * 0.52, h * 0.48))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    print(f"wrote {args.out}")
    window.close()


if __name__ == "__main__":
    main()
