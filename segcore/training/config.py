"""Training options, per-epoch records, progress payloads and results (no torch import).

The GUI builds a :class:`TrainConfig` from its dock, the CLI from its flags; the
loop reports :class:`TrainMetrics` in every ``Progress.payload`` and returns a
:class:`TrainResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from segcore.errors import TrainingError

if TYPE_CHECKING:
    from torch import nn

    from segcore.models.meta import ModelMeta

Schedule = Literal["poly", "onecycle"]
Phase = Literal["train", "val"]
StopReason = Literal["completed", "time", "early_stop", "stopped"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything about one training run except the data and a starting model.

    Budget: ``epochs`` or ``minutes`` (whichever is set; with both, the first
    reached ends training). An epoch is ``tiles_per_epoch`` random tiles (default:
    as many tiles as fit in the training blocks, at least one batch).
    """

    arch: str = "small_unet"
    encoder: str | None = None
    pretrained: bool = False
    arch_config: Mapping[str, Any] = field(default_factory=dict)
    epochs: int | None = 20
    minutes: float | None = None
    tile: int = 256
    batch: int = 8
    tiles_per_epoch: int | None = None
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: Schedule = "poly"
    loss: str = "ce+dice"
    class_weights: bool = True
    focal_gamma: float = 2.0
    focal_alpha: float | None = None
    clip_grad: float | None = 1.0
    patience: int | None = 10
    val_fraction: float = 0.2
    max_val_tiles: int = 256
    block: int | None = None
    corrected_weight: float = 3.0
    augment: bool = True
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    deterministic: bool = True
    threads: int | None = None
    workers: int = 0
    output: Path | None = None
    onnx_copy: bool = True  # make the written model's ONNX copy (for CPU runs) at once

    def check(self) -> None:
        """Raise TrainingError for options that cannot work."""
        if self.epochs is None and self.minutes is None:
            raise TrainingError("give a budget: a number of epochs or of minutes")
        if self.epochs is not None and self.epochs < 1:
            raise TrainingError(f"epochs must be >= 1, got {self.epochs}")
        if self.minutes is not None and not (0 < self.minutes < math.inf):
            raise TrainingError(f"minutes must be > 0 and finite, got {self.minutes}")
        if self.tile < 16 or self.batch < 1:
            raise TrainingError(f"tile must be >= 16 and batch >= 1, got {self.tile}, {self.batch}")
        if not (0 < self.lr < math.inf):
            raise TrainingError(f"learning rate must be > 0 and finite, got {self.lr}")
        if self.patience is not None and self.patience < 1:
            raise TrainingError(f"patience must be >= 1 epoch, got {self.patience}")
        if self.tiles_per_epoch is not None and self.tiles_per_epoch < 1:
            raise TrainingError(f"tiles per epoch must be >= 1, got {self.tiles_per_epoch}")
        if self.threads is not None and self.threads < 1:
            raise TrainingError(f"threads must be >= 1, got {self.threads}")
        if self.workers < 0:
            raise TrainingError(
                f"workers must be >= 0 (0: load in this process), got {self.workers}"
            )
        if self.schedule not in ("poly", "onecycle"):
            raise TrainingError(f"schedule must be 'poly' or 'onecycle', got {self.schedule!r}")
        if self.output is not None:
            out = Path(self.output)
            if out.suffix != ".safetensors":
                raise TrainingError(f"{out}: model files end in .safetensors")
            if not out.parent.is_dir():
                raise TrainingError(
                    f"{out}: the folder {out.parent} does not exist; create it or choose another"
                )


@dataclass(frozen=True)
class EpochRecord:
    """One line of training history, stored in ``ModelMeta.history``."""

    epoch: int
    train_loss: float
    val_miou: float
    val_iou: tuple[float | None, ...]  # per class id; None where the class did not occur
    lr: float
    seconds: float
    run: int = 1  # 1 for a model's first training, 2 for its first fine-tuning, ...
    missed: tuple[int, ...] = ()  # trained class ids never predicted on the validation pixels

    @property
    def degenerate(self) -> bool:
        """True when the prediction misses a trained class entirely (or is constant)."""
        return bool(self.missed)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "val_miou": self.val_miou,
            "val_iou": list(self.val_iou),
            "missed": list(self.missed),
            "lr": self.lr,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class TrainMetrics:
    """The payload of every Progress the loop yields (what a live chart plots).

    ``phase`` is "train" after each step, "val" after each validation (then
    ``val_miou`` and ``record`` are set).
    """

    phase: Phase
    epoch: int
    step: int
    steps_per_epoch: int
    train_loss: float | None
    lr: float
    elapsed: float
    val_miou: float | None = None
    best_miou: float | None = None
    record: EpochRecord | None = None


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or stopped) run leaves: the best model and its history."""

    module: nn.Module
    meta: ModelMeta
    path: Path | None
    best_miou: float
    best_epoch: int
    history: tuple[EpochRecord, ...]
    stopped: StopReason
    held_out: bool  # False: too few labelled regions, validation ran on training regions
    seconds: float
    train_pixels: tuple[int, ...] = ()  # labelled training pixels per class id
    val_pixels: tuple[int, ...] = ()  # labelled validation pixels per class id
    warnings: tuple[str, ...] = ()  # plain-language notes: thin validation, rare classes, ...
