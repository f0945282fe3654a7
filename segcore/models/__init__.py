"""Segmentation models: registry, architectures, model files, probe and export.

Names are imported lazily, so ``import segcore.models.meta`` (or listing the
registry) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segcore.models.build import build_model
    from segcore.models.create import create_model, reprobe
    from segcore.models.files import LoadedModel, load_model, read_meta, read_onnx_meta, save_model
    from segcore.models.meta import ModelMeta, Normalization
    from segcore.models.probe import ProbeResult, probe_model
    from segcore.models.registry import ArchEntry, get, list_archs, register

_WHERE = {
    "build_model": "segcore.models.build",
    "create_model": "segcore.models.create",
    "reprobe": "segcore.models.create",
    "LoadedModel": "segcore.models.files",
    "load_model": "segcore.models.files",
    "read_meta": "segcore.models.files",
    "read_onnx_meta": "segcore.models.files",
    "save_model": "segcore.models.files",
    "ModelMeta": "segcore.models.meta",
    "Normalization": "segcore.models.meta",
    "ProbeResult": "segcore.models.probe",
    "probe_model": "segcore.models.probe",
    "ArchEntry": "segcore.models.registry",
    "get": "segcore.models.registry",
    "list_archs": "segcore.models.registry",
    "register": "segcore.models.registry",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'segcore.models' has no attribute {name!r}")
