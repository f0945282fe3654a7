"""Model files: one safetensors file whose header carries the ModelMeta JSON.

Layout: the tensors of ``module.state_dict()`` plus the safetensors metadata
entry ``"tessera"`` holding ``ModelMeta.to_json()``. ``read_meta`` reads only the
header (a few kilobytes), so listing models costs no torch import.

A ``.pth`` file is accepted only as a plain state dict, loaded with
``torch.load(weights_only=True)``, next to a sidecar ``<name>.json`` holding the
metadata. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segcore.errors import ModelError
from segcore.files import created_mode, mkstemp_beside
from segcore.models.meta import ModelMeta, Normalization
from segcore.models.sidecar import meta_from_sidecar

if TYPE_CHECKING:
    import torch
    from torch import nn

META_KEY = "tessera"
# safetensors refuses headers above 100 MB; ours are kilobytes
_MAX_HEADER = 100_000_000


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run: ``module`` in eval mode on its device, and its metadata."""

    module: nn.Module
    meta: ModelMeta
    path: Path


def save_model(path: str | Path, module: nn.Module, meta: ModelMeta) -> Path:
    """Write ``module``'s weights and ``meta`` to one ``.safetensors`` file, atomically.

    The file is written under a temporary name in the same folder, flushed to disk
    and renamed over ``path``, so a crash never leaves a half-written model.

    Examples
    --------
    >>> module, meta = create_model("small_unet", classes=["bg", "cell"], in_channels=1)
    >>> save_model("cells.safetensors", module, meta)
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ModelError(f"{path}: model files end in .safetensors; choose such a name")
    # clone: safetensors refuses tensors that share storage (tied weights, views)
    tensors = {k: v.detach().to("cpu").clone().contiguous() for k, v in module.state_dict().items()}
    header = json.dumps(meta.to_json())
    try:
        tmp = mkstemp_beside(path)  # with the user's umask, not mkstemp's 0600
    except OSError as exc:
        raise ModelError(
            f"{path}: cannot write there ({exc}); check that the folder exists"
        ) from exc
    try:
        save_file(tensors, tmp, metadata={META_KEY: header})
        os.chmod(tmp, created_mode())  # safetensors makes its file 0600
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot write the model file ({exc}); check the folder") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _safetensors_header(path: Path) -> dict[str, Any]:
    """Parse the JSON header of a safetensors file (8-byte length, then JSON)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise ValueError("file is shorter than a safetensors header")
            (size,) = struct.unpack("<Q", head)
            if size > _MAX_HEADER:
                raise ValueError(f"header length {size} is implausible")
            raw = f.read(size)
            if len(raw) != size:
                raise ValueError("header is truncated")
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("header is not a JSON object")
        _check_length(path, 8 + size, data)
        return data
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: no such model file") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{path}: not a readable safetensors model file ({exc}); "
            "it may be truncated or corrupt, save or download it again"
        ) from exc


def _check_length(path: Path, start: int, header: dict[str, Any]) -> None:
    """The header says where each tensor's bytes end; a shorter file is truncated."""
    ends = [
        int(v["data_offsets"][1])
        for k, v in header.items()
        if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v
    ]
    need = start + max(ends, default=0)
    have = path.stat().st_size
    if have < need:
        raise ValueError(f"the weights end at byte {need} but the file has {have}")


def _meta_from_json_text(text: str, where: str) -> ModelMeta:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{where}: metadata is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{where}: metadata is not a JSON object")
    try:
        return ModelMeta.from_json(data)
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from exc
    except Exception as exc:  # LabelError from a bad class entry, and the like
        raise ModelError(f"{where}: bad metadata ({exc})") from exc


def sidecar_path(path: Path) -> Path:
    """``model.pth`` -> ``model.json`` (also for ``.onnx``)."""
    return path.with_suffix(".json")


def read_meta(path: str | Path) -> ModelMeta:
    """The metadata of a model file (``.safetensors``, ``.onnx`` or ``.pth``), reading only
    its header or sidecar: no weights are loaded. ModelError says why it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    suffix = path.suffix.lower()
    if suffix == ".pth":
        return _read_sidecar(path)
    if suffix == ".onnx":
        return read_onnx_meta(path)
    header = _safetensors_header(path)
    meta_text = (header.get("__metadata__") or {}).get(META_KEY)
    if meta_text is None:
        raise ModelError(
            f"{path}: a safetensors file without Tessera metadata; it holds weights only. "
            "Create a model with `tessera models new` and load these weights in training, "
            "or add the metadata"
        )
    return _meta_from_json_text(str(meta_text), str(path))


def _read_sidecar(path: Path) -> ModelMeta:
    side = sidecar_path(path)
    try:
        text = side.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ModelError(
            f"{path}: a .pth file needs a sidecar {side.name} with the model metadata "
            "(architecture, classes, normalisation); write it next to the file"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{side}: cannot read the metadata ({exc})") from exc
    return _meta_from_json_text(text, str(side))


def read_onnx_meta(path: str | Path) -> ModelMeta:
    """Metadata of an ONNX model from its sidecar ``<model>.json``.

    The sidecar is either full Tessera metadata (as ``tessera models export``
    writes it) or a short hand-written file for a model trained elsewhere::

        {"classes": ["background", "building"], "in_channels": 3,
         "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                           "scale": 255},
         "tile_size": 512}
    """
    path = Path(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such ONNX model file")
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(
            f"{path}: an ONNX model needs a sidecar {side.name} giving classes, in_channels "
            "and normalization; write it next to the model"
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{side}: cannot read the metadata ({exc})") from exc
    return meta_from_sidecar(data, str(side))


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model file and return its module (eval mode, on ``device``) and metadata.

    Parameters
    ----------
    path
        A ``.safetensors`` model file, or a ``.pth`` plain state dict with a sidecar JSON.
    device
        Where to put the module, e.g. ``"cpu"`` or ``"cuda"``.
    """
    path = Path(path)
    meta = read_meta(path)
    state = _read_state(path)
    module = _module_with_state(path, meta, state)
    try:
        module.to(device)
    except (RuntimeError, AssertionError) as exc:
        raise ModelError(f"{path}: cannot move the model to {device} ({exc})") from exc
    module.eval()
    return LoadedModel(module=module, meta=meta, path=path)


def _module_with_state(path: Path, meta: ModelMeta, state: dict[str, torch.Tensor]) -> nn.Module:
    """Build the architecture and load ``state`` into it.

    The module is first built on the ``meta`` device and the loaded tensors are
    assigned, which skips random initialisation (seconds for a ResNet-101). A
    module that cannot be built that way, or keeps tensors that are not in the
    file, is built normally.
    """
    import torch

    from segcore.models.build import build_from_meta

    # weights stored in half precision run as float32, like copying into a built module
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    module: nn.Module | None
    try:
        with torch.device("meta"):
            module = build_from_meta(meta)
    except Exception:  # a builder that needs real tensors, or a bad meta: see below
        module = None
    try:
        if module is not None:
            module.load_state_dict(state, strict=True, assign=True)
            tensors = [*module.parameters(), *module.buffers()]
            if any(t.is_meta for t in tensors):
                module = None
        if module is None:
            try:
                module = build_from_meta(meta)
            except ModelError as exc:
                raise ModelError(f"{path}: {exc}") from exc
            module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:3]
        raise ModelError(
            f"{path}: its tensors do not fit architecture {meta.arch!r} "
            f"({' '.join(first)[:300]}); the file and its metadata disagree, re-export the model"
        ) from exc
    return module


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    import torch

    if path.suffix.lower() == ".pth":
        try:
            state = torch.load(path, weights_only=True, map_location="cpu")
        except Exception as exc:  # pickle errors, zip errors, refused globals
            raise ModelError(
                f"{path}: Tessera never unpickles model files, and this one is not a plain "
                "state dict of tensors; convert it where it was made: "
                "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"
            ) from exc
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise ModelError(f"{path}: expected a dict of name -> tensor (a state dict)")
        return state
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # SafetensorError on truncated data
        raise ModelError(
            f"{path}: the weights are unreadable ({exc}); the file may be truncated, "
            "save or download it again"
        ) from exc


def default_normalization(in_channels: int) -> Normalization:
    """Mean 0, std 1, scale 255 per band: the input is ``pixel / 255``."""
    return Normalization(mean=(0.0,) * in_channels, std=(1.0,) * in_channels, scale=255.0)
