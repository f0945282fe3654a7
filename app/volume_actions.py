"""Edit > Slices: copy the previous / next slice's labels, interpolate the current class.

Installed by the window with the annotation context; each action runs one
volume edit (:mod:`segcore.labels.edits.volume`) through the context's edit
worker, so it is one undoable, journalled action like any tool's.
"""

from __future__ import annotations

from PySide6.QtGui import QAction

from app.actions import make_action
from app.context import AppContext
from app.tools.context import AnnotationContext
from segcore.labels.edits.volume import copy_slice, interpolate_class, interpolation_span


def install(context: AppContext, ctx: AnnotationContext) -> dict[str, QAction]:
    """Add the slice actions to the Edit menu; enabled while a label volume is edited."""
    w = context.shell.widget
    a = {
        "copy_prev_slice": make_action(
            w,
            "Copy Labels of &Previous Slice",
            lambda: _copy(ctx, -1),
            keys="Ctrl+Shift+PgUp",
            tip="Replace this slice's labels by the previous slice's",
        ),
        "copy_next_slice": make_action(
            w,
            "Copy Labels of &Next Slice",
            lambda: _copy(ctx, 1),
            keys="Ctrl+Shift+PgDown",
            tip="Replace this slice's labels by the next slice's",
        ),
        "interpolate_slices": make_action(
            w,
            "&Interpolate Class Between Slices",
            lambda: _interpolate(ctx),
            keys="Ctrl+I",
            tip="Fill the current class between the nearest labelled slices (shape-based)",
        ),
    }
    menu = context.shell.menus["edit"].addMenu("&Slices")
    menu.addActions(list(a.values()))

    def refresh() -> None:
        editor = ctx.editor
        on = editor is not None and editor.store.depth > 1
        for action in a.values():
            action.setEnabled(on)

    ctx.editor_changed.connect(lambda _e: refresh())
    refresh()
    context.shell.actions_by_name.update(a)
    return a


def _copy(ctx: AnnotationContext, step: int) -> None:
    editor = ctx.ready()
    if editor is None:
        return
    source = editor.plane + step
    if not 0 <= source < editor.store.depth:
        ctx.status("There is no slice there to copy from")
        return
    ctx.run("copy slice", copy_slice, source)


def _interpolate(ctx: AnnotationContext) -> None:
    editor = ctx.ready()
    class_id = ctx.class_id
    if editor is None or class_id is None:
        if class_id is None:
            ctx.status("Pick a class first (Classes dock or keys 1-9)")
        return
    span = interpolation_span(editor.store.slice_counts(), editor.plane)
    if span is None:
        ctx.status("Label the class on two slices first, then interpolate between them")
        return
    paint = ctx.paint()
    if paint is not None:
        z0, z1 = span
        ctx.run("interpolate", interpolate_class, class_id, z0, z1, paint=paint)
        ctx.status(f"Interpolating between slices {z0 + 1} and {z1 + 1}...", 0)
