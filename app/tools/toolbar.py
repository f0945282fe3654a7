"""The annotation tool bar: every tool with its icon, tooltip and shortcut, the class
picker, brush size and wand tolerance.

Tools are checkable actions in one exclusive group, in the order and groups of
their registrations (:func:`app.tools.base.registered_tools`: a tool module
registers its tool, with its icon, beside the tool class); choosing one installs
it on the canvas. Actions are added to the window too, so their shortcuts work
wherever the focus is (text fields keep their typing: Qt lets them override
single-key shortcuts). Number keys 1-9 pick classes through the window's own
actions, which select a row of the Classes dock; the picker here follows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QSpinBox, QToolBar

from app.canvas.tools import CanvasTool
from app.docks.classes_dock import swatch
from app.tools.base import ToolSpec, registered_tools
from app.tools.context import MAX_BRUSH, MIN_BRUSH, AnnotationContext
from app.tools.tool_icons import drawn_icon, tool_icon

if TYPE_CHECKING:
    from app.context import AppContext


TOOLS: tuple[ToolSpec, ...] = registered_tools()  # each tool module registers its own


def _tooltip(text: str, shortcut: str, tip: str) -> str:
    key = QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)
    return f"<b>{text}</b>" + (f" ({key})" if key else "") + f"<br>{tip}"


class AnnotationToolBar(QToolBar):
    """Tool actions (``actions_by_key``), class picker, brush size and tolerance."""

    def __init__(self, context: AppContext, ctx: AnnotationContext) -> None:
        super().__init__("Annotation")
        self.setObjectName("annotation_toolbar")
        self.context, self.ctx = context, ctx
        self.canvas, self.classes = context.canvas, context.classes
        self.group = QActionGroup(self)
        # Optional: the Pan tool (H) of the main tool bar leaves no annotation tool checked.
        self.group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self.actions_by_key: dict[str, QAction] = {}
        self.tools: dict[str, CanvasTool] = {}
        self.specs = {spec.key: spec for spec in TOOLS}
        for spec, after in zip(TOOLS, [*TOOLS[1:], None], strict=True):
            icon = drawn_icon(spec.icon)
            action = self._action(
                spec.text, spec.key, spec.shortcut, spec.tip, checkable=True, icon=icon
            )
            action.triggered.connect(lambda _c=False, k=spec.key: self.choose(k))
            self.group.addAction(action)
            self.addAction(action)
            if after is not None and after.group != spec.group:
                self.addSeparator()
        self.new_instance = self._action(
            "New Instance", "new_instance", "N", "Start a new object of the current thing class"
        )
        self.new_instance.triggered.connect(self._new_instance)
        self.addAction(self.new_instance)
        self.addSeparator()
        self._add_class_picker()
        self._add_options()
        pan = context.shell.actions_by_name.get("pan")
        if pan is not None:
            pan.triggered.connect(self._uncheck)
        ctx.editor_changed.connect(self._editor_changed)
        context.session.document_changed.connect(lambda _d: self._editor_changed(ctx.editor))
        ctx.options_changed.connect(self._options_changed)
        self.classes.current_class_changed.connect(self._dock_class_changed)
        self._editor_changed(ctx.editor)

    # -- building ---------------------------------------------------------------

    def _action(
        self,
        text: str,
        key: str,
        shortcut: str,
        tip: str,
        *,
        checkable: bool = False,
        icon: QIcon | None = None,
    ) -> QAction:
        window = self.context.shell.widget
        action = QAction(icon or tool_icon(key), text, window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(_tooltip(text, shortcut, tip))
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        action.setObjectName(f"tool_{key}")
        window.addAction(action)  # the shortcut works wherever the focus is
        self.actions_by_key[key] = action
        return action

    def _add_class_picker(self) -> None:
        self.addWidget(QLabel(" Class "))
        self.class_box = QComboBox()
        self.class_box.setMinimumContentsLength(14)
        self.class_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.class_box.setToolTip("<b>Current class</b> (keys 1-9)<br>What the tools paint")
        self.class_box.activated.connect(self.classes.select_index)
        self.addWidget(self.class_box)

    def _add_options(self) -> None:
        smaller = self._action("Smaller Brush", "smaller", "[", "Make the brush smaller")
        larger = self._action("Larger Brush", "larger", "]", "Make the brush larger")
        smaller.triggered.connect(lambda: self.ctx.grow_brush(-1))
        larger.triggered.connect(lambda: self.ctx.grow_brush(1))
        self.addWidget(QLabel(" Size "))
        self.size_box = QSpinBox()
        self.size_box.setRange(MIN_BRUSH, MAX_BRUSH)
        self.size_box.setSuffix(" px")
        self.size_box.setValue(self.ctx.brush_size)
        self.size_box.setToolTip("<b>Brush size</b> ([ and ])<br>Diameter in image pixels")
        self.size_box.valueChanged.connect(self.ctx.set_brush_size)
        self.addWidget(self.size_box)
        self.addWidget(QLabel(" Tolerance "))
        self.tolerance_box = QDoubleSpinBox()
        self.tolerance_box.setRange(0.0, 1e9)
        self.tolerance_box.setDecimals(1)
        self.tolerance_box.setValue(self.ctx.tolerance)
        self.tolerance_box.setToolTip(
            "<b>Magic wand tolerance</b><br>Largest difference from the clicked pixel, "
            "in the image's units, over all bands"
        )
        self.tolerance_box.valueChanged.connect(self.ctx.set_tolerance)
        self.addWidget(self.tolerance_box)

    # -- behaviour ----------------------------------------------------------------

    def choose(self, key: str) -> CanvasTool:
        """Make tool ``key`` the canvas tool (the same instance each time)."""
        tool = self.tools.get(key)
        if tool is None:
            tool = self.tools[key] = self.specs[key].make(self.ctx)
        self.actions_by_key[key].setChecked(True)
        self.canvas.set_tool(tool)
        spec = self.specs[key]
        self.ctx.status(f"{spec.text}: {spec.tip}", 6000)
        return tool

    def _uncheck(self) -> None:
        checked = self.group.checkedAction()
        if checked is not None:
            checked.setChecked(False)

    def _new_instance(self) -> None:
        instance_id = self.ctx.new_instance()
        if instance_id is not None:
            self.ctx.status(f"New instance #{instance_id}: the next strokes draw a new object")

    def _editor_changed(self, editor: object) -> None:
        # On an image outside a project the tools stay usable: using one says why
        # nothing is painted and offers to add the image (AnnotationContext.ready).
        enabled = editor is not None or self.context.session.document is not None
        for action in [*self.group.actions(), self.new_instance]:
            action.setEnabled(enabled)
        if editor is None and self.canvas.tool in self.tools.values() and not enabled:
            self.canvas.set_tool(None)
            self._uncheck()
        self._dock_class_changed(self.classes.current_class)

    def _dock_class_changed(self, current: object) -> None:
        classes = self.ctx.classes
        shown = tuple(self.class_box.itemData(i) for i in range(self.class_box.count()))
        if shown != tuple(c.id for c in classes):
            self.class_box.clear()
            for i, c in enumerate(classes):
                key = f"  [{i + 1}]" if i < 9 else ""
                self.class_box.addItem(swatch(c.color), f"{c.name}{key}", c.id)
        row = self.classes.current_row
        self.class_box.setCurrentIndex(row if 0 <= row < self.class_box.count() else -1)

    def _options_changed(self) -> None:
        for box, value in ((self.size_box, self.ctx.brush_size),
                           (self.tolerance_box, self.ctx.tolerance)):  # fmt: skip
            if box.value() != value:
                box.blockSignals(True)
                box.setValue(value)  # type: ignore[arg-type]
                box.blockSignals(False)


def checked_tool_key(bar: AnnotationToolBar) -> str | None:
    """The key of the checked tool, if any (for tests and the status bar)."""
    action = bar.group.checkedAction()
    return None if action is None else action.objectName().removeprefix("tool_")
