"""Export and import of labels in dataset formats (Qt-free).

Start with :func:`segcore.formats.exporter.export` (a job writing one format),
:func:`segcore.formats.registry.import_labels` and
:func:`segcore.formats.registry.list_formats`.
"""
