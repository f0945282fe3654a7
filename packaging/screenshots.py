"""Make the README's screenshots by driving the real app (offscreen; no display needed).

    uv run python packaging/screenshots.py [--out docs/images] [--size 1500x920]

``app.png``: the bundled sample as the app opens it with no argument (its
model's prediction included), the status bar describing a point as if the
mouse rested there. ``objects.png``: a project on the sample; nuclei drawn
with the brush through mouse events on the canvas, each stroke its own object
in the Instances layer, a class added from the Classes dock, and the status bar
naming the current object. Each file is written under a temporary name and
renamed when complete. Run it under Xvfb (``QT_QPA_PLATFORM=xcb``) to include
the window manager's view of the same window; the pictures are the same.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
NUCLEI = ((120, 150), (300, 90), (210, 330))  # image points the brush strokes start at


def pump(qapp: Any, until: Callable[[], bool], timeout: float) -> None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end and not until():
        qapp.processEvents()
        time.sleep(0.005)


def settle(qapp: Any, window: Any) -> None:
    """Paint until every visible tile is loaded and the view has come to rest."""
    canvas = window.canvas
    for _ in range(200):
        canvas.grab()
        pump(qapp, lambda: not canvas.loader.busy, 0.05)
        if not canvas.loader.busy:
            break
    pump(qapp, lambda: False, 0.3)


def save(window: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    if not window.grab().save(str(tmp)):
        raise SystemExit(f"cannot write {tmp}: check the folder is writable")
    os.replace(tmp, path)
    print(f"wrote {path}")


def new_window(qapp: Any, size: tuple[int, int]) -> Any:
    from app.window import MainWindow

    window = MainWindow()
    window.resize(*size)
    window.show()
    pump(qapp, lambda: window.isVisible(), 5)
    return window


def sample_shot(qapp: Any, size: tuple[int, int], out: Path) -> None:
    """The sample with its prediction, as ``tessera`` opens it."""
    from app.session import SAMPLE_IMAGE

    window = new_window(qapp, size)
    window.open_sample()
    session = window.session
    pump(qapp, lambda: session.document is not None, 120)
    if SAMPLE_IMAGE.is_file():
        pump(qapp, lambda: session.prediction is not None, 60)
        pump(qapp, lambda: not window.model_dock.is_running, 300)
        window.layers_dock.select("prediction")
    window.canvas.fit()
    settle(qapp, window)
    w, h = window.canvas.image_size
    window.canvas.hovered.emit((w * 0.52, h * 0.48))
    save(window, out)
    window.close()


def objects_shot(qapp: Any, size: tuple[int, int], out: Path) -> None:
    """A project on the sample: three separate nuclei, a class added in the Classes dock."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from app.session import SAMPLE_IMAGE
    from segcore.labels.schema import make_classes

    if not SAMPLE_IMAGE.is_file():
        print("no bundled sample: objects.png skipped")
        return
    folder = Path(tempfile.mkdtemp(prefix="tessera-shot-"))
    try:
        image = folder / SAMPLE_IMAGE.name
        shutil.copyfile(SAMPLE_IMAGE, image)
        window = new_window(qapp, size)
        projects, ctx = window.annotation.projects, window.annotation.ctx
        classes = make_classes(["background", "nucleus"], {"nucleus"})
        projects.new_project(folder / "project", classes=classes)
        projects.add_images([image])
        pump(qapp, lambda: ctx.editor is not None, 60)
        window.canvas.fit()
        settle(qapp, window)
        window.annotation.toolbar.choose("brush")
        ctx.set_class(1)
        ctx.set_brush_size(26)
        vp = window.canvas.viewport
        for x, y in NUCLEI:  # three strokes far apart: three objects
            points = [vp.to_screen(x + dx, y + dy) for dx, dy in ((0, 0), (10, 4), (18, 12))]
            screen = [QPoint(round(sx), round(sy)) for sx, sy in points]
            QTest.mousePress(window.canvas, Qt.MouseButton.LeftButton, pos=screen[0])
            for p in screen[1:]:
                QTest.mouseMove(window.canvas, p)
            QTest.mouseRelease(window.canvas, Qt.MouseButton.LeftButton, pos=screen[-1])
            qapp.processEvents()
        window.annotation.classes.add("mitosis *")
        window.classes_dock.select_index(1)
        window.layers_dock.set_visible("semantic", False)
        window.layers_dock.set_visible("instance", True)
        window.layers_dock.select("instance")
        settle(qapp, window)
        x, y = NUCLEI[-1]
        window.canvas.hovered.emit((x + 10.0, y + 6.0))
        save(window, out)
        window.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--size", default="1500x920")
    args = parser.parse_args()
    settings = Path(tempfile.gettempdir()) / "tessera_screenshot_settings.ini"
    settings.unlink(missing_ok=True)  # the default layout, not the last run's
    os.environ["TESSERA_SETTINGS"] = str(settings)
    from app.main import make_application

    qapp = make_application()
    width, height = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    sample_shot(qapp, (width, height), args.out / "app.png")
    objects_shot(qapp, (width, height), args.out / "objects.png")


if __name__ == "__main__":
    main()
