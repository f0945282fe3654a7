"""Metadata from a sidecar JSON: full Tessera metadata or a short hand-written one."""

from __future__ import annotations

from typing import Any

from segcore.errors import ModelError
from segcore.labels.schema import ClassInfo, make_classes
from segcore.models.meta import ModelMeta


def classes_from(value: Any) -> tuple[ClassInfo, ...]:
    """Classes from a count, a list of names, or a list of ClassInfo JSON objects."""
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(make_classes([f"class_{i}" for i in range(value)]))
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(make_classes(list(value)))
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return tuple(ClassInfo.from_json(v) for v in value)
    raise ValueError(f"classes must be a count, a list of names or of class objects: {value!r}")


def meta_from_sidecar(data: Any, where: str) -> ModelMeta:
    """Build ModelMeta from sidecar ``data``; bad or missing fields raise ModelError.

    Required: ``classes``, ``in_channels``, ``normalization`` (mean, std, optional
    scale). Optional: ``tile_size``, ``output_stride``, ``receptive_field``,
    ``exact`` (default False: blended inference), ``arch`` (default ``"onnx"``).
    """
    if not isinstance(data, dict):
        raise ModelError(f"{where}: metadata must be a JSON object")
    missing = [k for k in ("classes", "in_channels", "normalization") if k not in data]
    if missing:
        raise ModelError(f"{where}: metadata lacks {', '.join(missing)}; add them")
    full = dict(data)
    full.setdefault("arch", "onnx")
    try:
        full["classes"] = [c.to_json() for c in classes_from(data["classes"])]
        meta = ModelMeta.from_json(full)
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from exc
    except Exception as exc:  # LabelError, ValueError from a bad field
        raise ModelError(f"{where}: bad metadata ({exc})") from exc
    n = meta.in_channels
    if len(meta.normalization.mean) != n or len(meta.normalization.std) != n:
        raise ModelError(
            f"{where}: normalization needs {n} mean and std values (one per band), got "
            f"{len(meta.normalization.mean)} and {len(meta.normalization.std)}"
        )
    if any(s == 0 for s in meta.normalization.std):
        raise ModelError(f"{where}: normalization std must not be 0")
    return meta
