"""Metadata that travels with every model file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from segcore.errors import ModelError
from segcore.labels.schema import ClassInfo

FORMAT_VERSION = 1
Task = Literal["semantic", "instance"]
TASKS: tuple[Task, ...] = ("semantic", "instance")


@dataclass(frozen=True)
class Normalization:
    """Input normalisation, applied globally (never per tile).

    ``x = (pixel / scale - mean[band]) / std[band]``.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 255.0


@dataclass(frozen=True)
class ModelMeta:
    """Everything needed to run a model file on an image without guessing.

    ``receptive_field`` is the measured radius (pixels) beyond which an input
    change moves no output logit by more than the probe's tolerance; ``None``
    for models with global context (then ``exact`` is False).

    ``task`` says what the outputs are: ``"semantic"`` (one logit per class) or
    ``"instance"`` (dense maps grouped into objects, see
    :mod:`segcore.models.instance_unet`; ``classes`` are then the object classes).
    """

    arch: str
    config: dict[str, Any]
    in_channels: int
    classes: tuple[ClassInfo, ...]
    normalization: Normalization
    tile_size: int = 512
    output_stride: int = 32
    receptive_field: int | None = None
    exact: bool = False
    history: tuple[dict[str, Any], ...] = ()
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    task: Task = "semantic"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = [c.to_json() for c in self.classes]
        data["normalization"] = asdict(self.normalization)
        data["history"] = list(self.history)
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> ModelMeta:
        try:
            version = int(data.get("format_version", 0))
            if version > FORMAT_VERSION:
                raise ModelError(
                    f"model file format {version} is newer than this Tessera reads "
                    f"({FORMAT_VERSION}); update Tessera"
                )
            norm = data["normalization"]
            task = str(data.get("task", "semantic"))
            if task not in TASKS:
                raise ModelError(
                    f"model task {task!r} is not one this Tessera knows ({', '.join(TASKS)}); "
                    "update Tessera"
                )
            return ModelMeta(
                arch=str(data["arch"]),
                config=dict(data.get("config", {})),
                in_channels=int(data["in_channels"]),
                classes=tuple(ClassInfo.from_json(c) for c in data["classes"]),
                normalization=Normalization(
                    tuple(float(v) for v in norm["mean"]),
                    tuple(float(v) for v in norm["std"]),
                    float(norm.get("scale", 255.0)),
                ),
                tile_size=int(data.get("tile_size", 512)),
                output_stride=int(data.get("output_stride", 32)),
                receptive_field=(
                    None if data.get("receptive_field") is None else int(data["receptive_field"])
                ),
                exact=bool(data.get("exact", False)),
                history=tuple(data.get("history", ())),
                format_version=version,
                extra=dict(data.get("extra", {})),
                task=task,
            )
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model metadata is missing or has a bad field: {exc}") from exc
