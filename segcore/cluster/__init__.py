"""Batch and huge-image inference on a Dask cluster (``tessera infer --cluster``).

The client decides what the single-process engine would decide (runner, tile
plan), cuts each image's plan into parts of whole tile rows
(:mod:`~segcore.cluster.parts`) and submits them; workers keep one loaded copy
of the model (:mod:`~segcore.cluster.ship`), compute parts and write chunk-aligned
regions of a zarr store (:mod:`~segcore.cluster.tasks`). See ``docs/arch/engine.md``.
"""
