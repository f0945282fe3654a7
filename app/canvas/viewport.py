"""Where the canvas looks: zoom and offset, and the conversions they imply.

Pure arithmetic, no Qt, so it is tested on its own. ``zoom`` is screen pixels
per level-0 image pixel; ``(ox, oy)`` is the image point at the widget's
top-left corner. A screen point ``s`` shows image point ``o + s / zoom``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_ZOOM = 64.0


@dataclass
class Viewport:
    """Zoom and offset of the canvas over an image of ``image_w`` x ``image_h``."""

    image_w: int
    image_h: int
    view_w: int = 1
    view_h: int = 1
    zoom: float = 1.0
    ox: float = 0.0
    oy: float = 0.0

    # -- conversions ----------------------------------------------------------

    def to_image(self, sx: float, sy: float) -> tuple[float, float]:
        return self.ox + sx / self.zoom, self.oy + sy / self.zoom

    def to_screen(self, ix: float, iy: float) -> tuple[float, float]:
        return (ix - self.ox) * self.zoom, (iy - self.oy) * self.zoom

    def visible_rect(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the image area under the widget, clipped to the image."""
        x0, y0 = self.to_image(0, 0)
        x1, y1 = self.to_image(self.view_w, self.view_h)
        return max(x0, 0.0), max(y0, 0.0), min(x1, self.image_w), min(y1, self.image_h)

    # -- zoom limits ----------------------------------------------------------

    def fit_zoom(self) -> float:
        return min(self.view_w / self.image_w, self.view_h / self.image_h)

    def min_zoom(self) -> float:
        """Never smaller than a quarter of the fit, nor than one screen pixel per 4096."""
        return min(self.fit_zoom() / 4.0, 1.0)

    # -- changes --------------------------------------------------------------

    def resize(self, view_w: int, view_h: int) -> None:
        """Keep the image point at the centre of the view where it is."""
        cx, cy = self.to_image(self.view_w / 2, self.view_h / 2)
        self.view_w, self.view_h = max(view_w, 1), max(view_h, 1)
        self.center_on(cx, cy)

    def fit(self) -> None:
        """Show the whole image, centred."""
        self.zoom = self.fit_zoom()
        self.center_on(self.image_w / 2, self.image_h / 2)

    def set_zoom(self, zoom: float, *, anchor: tuple[float, float] | None = None) -> None:
        """Set ``zoom`` keeping the image point under screen ``anchor`` (default: centre) fixed."""
        sx, sy = anchor if anchor is not None else (self.view_w / 2, self.view_h / 2)
        ix, iy = self.to_image(sx, sy)
        self.zoom = min(max(zoom, self.min_zoom()), MAX_ZOOM)
        self.ox, self.oy = ix - sx / self.zoom, iy - sy / self.zoom
        self.clamp()

    def zoom_by(self, factor: float, *, anchor: tuple[float, float] | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor=anchor)

    def pan(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) screen pixels (drag direction)."""
        self.ox -= dx / self.zoom
        self.oy -= dy / self.zoom
        self.clamp()

    def center_on(self, ix: float, iy: float) -> None:
        self.ox = ix - self.view_w / (2 * self.zoom)
        self.oy = iy - self.view_h / (2 * self.zoom)
        self.clamp()

    def clamp(self) -> None:
        """Keep at least half the view over the image so it cannot be lost off-screen."""
        span_w, span_h = self.view_w / self.zoom, self.view_h / self.zoom
        self.ox = min(max(self.ox, -span_w / 2), self.image_w - span_w / 2)
        self.oy = min(max(self.oy, -span_h / 2), self.image_h - span_h / 2)

    # -- pyramids -------------------------------------------------------------

    def level_for(self, downsamples: tuple[float, ...]) -> int:
        """The coarsest level still at least as sharp as the screen.

        A level with downsample ``d`` shows ``zoom * d`` screen pixels per level
        pixel; pick the largest ``d`` with ``zoom * d <= 1`` (plus a little slack
        so a level is not dropped for a rounding error).
        """
        best = 0
        for i, d in enumerate(downsamples):
            if self.zoom * d <= 1.0 + 1e-6 and d >= downsamples[best]:
                best = i
        return best

    def zoom_percent(self) -> str:
        pct = self.zoom * 100
        return f"{pct:.0f}%" if pct >= 10 else f"{pct:.{max(1, 1 - math.floor(math.log10(pct)))}f}%"
