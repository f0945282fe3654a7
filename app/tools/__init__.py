"""Annotation tools: brushes, shapes, fill, point-and-click segmentation, instances.

Each tool is a :class:`app.canvas.tools.CanvasTool` that turns mouse events into
calls of segcore's edit functions through :class:`app.tools.context.AnnotationContext`
(the current project, image, editor, class and brush settings).
:func:`app.annotation.install_annotation` puts the tool bar, Edit > Undo / Redo
and the project feature into the window.
"""
