"""Segmentation models: registry, architectures, model files, probe and export.

Names are imported lazily, so ``import segcore.models.meta`` (or listing the
registry) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; imported lazily at run time
    from segcore.models.build import build_model as build_model
    from segcore.models.create import create_model as create_model
    from segcore.models.create import reprobe as reprobe
    from segcore.models.files import LoadedModel as LoadedModel
    from segcore.models.files import load_model as load_model
    from segcore.models.files import read_meta as read_meta
    from segcore.models.files import read_onnx_meta as read_onnx_meta
    from segcore.models.files import save_model as save_model
    from segcore.models.meta import ModelMeta as ModelMeta
    from segcore.models.meta import Normalization as Normalization
    from segcore.models.probe import ProbeResult as ProbeResult
    from segcore.models.probe import probe_model as probe_model
    from segcore.models.registry import ArchEntry as ArchEntry
    from segcore.models.registry import get as get
    from segcore.models.registry import list_archs as list_archs
    from segcore.models.registry import register as register

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
