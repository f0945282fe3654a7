"""Mouse, wheel, gesture and key handling of the canvas (a mixin of CanvasView).

Zoom: wheel (anchored at the cursor), pinch (native gesture on macOS
trackpads, QPinchGesture on touch screens), + and - keys. Pan: drag with the
pan tool, space + drag or the middle button with any tool, arrow keys
(Shift for bigger steps), two-finger scroll on trackpads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import (
    QEnterEvent,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGestureEvent, QPinchGesture

from app.canvas.tools import CanvasTool, ToolEvent

if TYPE_CHECKING:
    from app.canvas.view import CanvasView

WHEEL_STEP = 2**0.25  # zoom factor per wheel notch (four notches double)
KEY_STEP = 2**0.5
ARROW_FRACTION = 0.15  # of the view per arrow key press


class CanvasInput:
    """Input handlers; assumes ``self`` is a :class:`CanvasView`."""

    def __init__(self) -> None:
        self.tool: CanvasTool = CanvasTool()
        self._space = False
        self._drag: QPointF | None = None  # last position of a pan drag
        self._tool_drag = False

    # -- tools ----------------------------------------------------------------

    def set_tool(self: CanvasView, tool: CanvasTool | None) -> None:
        """Make ``tool`` receive mouse events (None: the plain pan tool)."""
        self.tool.deactivate()
        self.tool = tool or CanvasTool()
        self.tool.activate(self)
        self.setCursor(self.tool.cursor)
        self.update()

    def _tool_event(self: CanvasView, event: QMouseEvent) -> ToolEvent:
        pos = event.position()
        x, y = self.viewport.to_image(pos.x(), pos.y())
        return ToolEvent(x, y, pos.x(), pos.y(), event.button(), event.buttons(), event.modifiers())

    # -- mouse ----------------------------------------------------------------

    def mousePressEvent(self: CanvasView, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus()
        pan_button = event.button() == Qt.MouseButton.MiddleButton
        if (
            not (self._space or pan_button)
            and self.layers
            and self.tool.press(self._tool_event(event))
        ):
            self._tool_drag = True
            return
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseDoubleClickEvent(self: CanvasView, event: QMouseEvent) -> None:  # noqa: N802
        # Qt sends press, release, double click, release: a tool may take the second
        # click as a whole (Segment Anything commits); otherwise it is a plain press.
        if self.layers and not self._space and self.tool.double_click(self._tool_event(event)):
            return
        self.mousePressEvent(event)

    def mouseMoveEvent(self: CanvasView, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._drag is not None:
            self.pan_by(pos.x() - self._drag.x(), pos.y() - self._drag.y())
            self._drag = pos
        elif self._tool_drag or event.buttons() == Qt.MouseButton.NoButton:
            self.tool.move(self._tool_event(event))
        x, y = self.viewport.to_image(pos.x(), pos.y())
        w, h = self.image_size
        inside = bool(self.layers) and 0 <= x < w and 0 <= y < h
        self.hovered.emit((x, y) if inside else None)

    def mouseReleaseEvent(self: CanvasView, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            self._drag = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else self.tool.cursor)
            return
        if self._tool_drag:
            self._tool_drag = False
            self.tool.release(self._tool_event(event))

    def leaveEvent(self: CanvasView, event: QEvent) -> None:  # noqa: N802
        self.hovered.emit(None)

    def enterEvent(self: CanvasView, event: QEnterEvent) -> None:  # noqa: N802
        self.setCursor(self.tool.cursor)

    # -- wheel and gestures ---------------------------------------------------

    def wheelEvent(self: CanvasView, event: QWheelEvent) -> None:  # noqa: N802
        if not self.layers:
            return
        pos = event.position()
        pixels = event.pixelDelta()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if not pixels.isNull() and not ctrl:  # trackpad two-finger scroll pans
            self.pan_by(pixels.x(), pixels.y())
        else:
            notches = event.angleDelta().y() / 120.0
            if notches:
                self.zoom_by(WHEEL_STEP**notches, anchor=(pos.x(), pos.y()))
        event.accept()

    def event(self: CanvasView, event: QEvent) -> bool:
        kind = event.type()
        if (
            kind == QEvent.Type.NativeGesture
            and isinstance(event, QNativeGestureEvent)
            and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture
        ):
            pos = event.position()
            self.zoom_by(1.0 + event.value(), anchor=(pos.x(), pos.y()))
            return True
        if kind == QEvent.Type.Gesture and isinstance(event, QGestureEvent):
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                centre = self.mapFromGlobal(pinch.centerPoint().toPoint())
                self.zoom_by(pinch.scaleFactor(), anchor=(centre.x(), centre.y()))
                return True
        return bool(super().event(event))

    # -- keys -----------------------------------------------------------------

    def keyPressEvent(self: CanvasView, event: QKeyEvent) -> None:  # noqa: N802
        if self.tool.key(event):
            return
        key = event.key()
        big = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        step = (0.5 if big else ARROW_FRACTION) * min(self.width(), self.height())
        moves = {
            Qt.Key.Key_Left: (step, 0.0),
            Qt.Key.Key_Right: (-step, 0.0),
            Qt.Key.Key_Up: (0.0, step),
            Qt.Key.Key_Down: (0.0, -step),
        }
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(KEY_STEP)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_by(1 / KEY_STEP)
        elif key in moves and self.layers:
            self.pan_by(*moves[Qt.Key(key)])
        else:
            super().keyPressEvent(event)  # propagate

    def keyReleaseEvent(self: CanvasView, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._drag is None:
                self.setCursor(self.tool.cursor)
            return
        super().keyReleaseEvent(event)
