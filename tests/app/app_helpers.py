"""Helpers shared by the app tests (imported as ``app_helpers``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from app.canvas.view import CanvasView


def settle(qtbot: Any, canvas: CanvasView, timeout: int = 15_000) -> None:
    """Paint until every visible tile of every layer is loaded.

    ``grab()`` runs ``paintEvent`` at once (``repaint()`` does not on the offscreen
    platform), and painting is what requests the missing tiles.
    """

    def loaded() -> bool:
        canvas.grab()
        return not canvas.loader.busy

    qtbot.waitUntil(loaded, timeout=timeout)


def pixel(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def scene_arrays(h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from segcore.synthetic import make_scene

    scene = make_scene(h, w, seed=2)
    return scene.image, scene.semantic, scene.instance
