"""Training and fine-tuning on corrected labels (the human-in-the-loop part).

Modules: :mod:`~segcore.training.data` (what to train on), ``split`` (blocks,
checks, train/validation by region), ``dataset`` (torch tile datasets),
``augment``, ``losses``, ``prepare`` (checks and model set-up), ``loop``
(the :func:`train` job), ``finetune`` (new classes get new output channels),
``uncertainty`` (tiles ranked for active learning), ``ddp`` (torchrun).

Names are imported lazily, so ``import segcore.training`` costs no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "segcore.training.config",
    "TrainMetrics": "segcore.training.config",
    "TrainResult": "segcore.training.config",
    "EpochRecord": "segcore.training.config",
    "LabelledImage": "segcore.training.data",
    "TrainingData": "segcore.training.data",
    "data_from_arrays": "segcore.training.data",
    "data_from_folders": "segcore.training.data",
    "data_from_project": "segcore.training.data",
    "train": "segcore.training.loop",
    "train_on_arrays": "segcore.training.arrays",
    "make_loss": "segcore.training.losses",
    "expand_classes": "segcore.training.finetune",
    "rank_uncertain_tiles": "segcore.training.uncertainty",
    "UncertainTile": "segcore.training.uncertainty",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'segcore.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
