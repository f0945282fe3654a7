"""Annotation tools: brushes, shapes, fill, point-and-click segmentation, instances.

Each tool is a :class:`app.canvas.tools.CanvasTool` that turns mouse events into
calls of segcore's edit functions through :class:`app.tools.context.AnnotationContext`
(the current project, image, editor, class and brush settings). :func:`app.tools.install.install`
puts the tool bar, the project dock and the project menus into the main window.
"""
