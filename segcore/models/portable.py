"""Export a loaded model to TorchScript or ONNX, with a sidecar JSON of its metadata.

The sidecar (``<out>.json``) holds the full ModelMeta, so ``read_onnx_meta`` and
the engine's onnxruntime path know the classes, normalisation, input bands,
tile size and receptive field of the exported graph.

ONNX export uses torch's TorchScript-based exporter first (fast, no extra
packages); where it cannot trace a model (SegNet's max-unpooling with dynamic
shapes) it falls back to the ``torch.export`` based exporter, which needs
``onnxscript``. Every ONNX export is checked against PyTorch with onnxruntime.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from segcore.errors import ModelError
from segcore.files import mkstemp_beside
from segcore.models.files import LoadedModel, sidecar_path
from segcore.models.meta import ModelMeta

if TYPE_CHECKING:
    import torch

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
# max |onnx - torch| allowed, relative to max |logit|
_CHECK_TOLERANCE = 1e-4


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success."""
    try:
        tmp = mkstemp_beside(path)  # with the user's umask, not mkstemp's 0600
    except OSError as exc:
        raise ModelError(f"{path}: cannot write there ({exc})") from exc
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_sidecar(loaded: LoadedModel, path: Path) -> None:
    side = sidecar_path(path)
    with _atomic(side) as tmp:
        tmp.write_text(json.dumps(loaded.meta.to_json(), indent=2), encoding="utf-8")


def _example(loaded: LoadedModel, batch: int = 1) -> torch.Tensor:
    import torch

    side = 2 * max(loaded.meta.output_stride, 32)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, loaded.meta.in_channels, side, side, generator=gen)
    return x.to(next(loaded.module.parameters()).device)


def _prepare(loaded: LoadedModel, path: str | Path, suffix: str) -> Path:
    out = Path(path)
    if out.suffix != suffix:
        raise ModelError(f"{out}: use a name ending in {suffix}")
    if not out.parent.is_dir():
        raise ModelError(f"{out}: folder {out.parent} does not exist; create it first")
    loaded.module.eval()
    return out


def export_torchscript(loaded: LoadedModel, path: str | Path) -> Path:
    """Write ``loaded`` as a TorchScript file (``.pt``) plus ``<name>.json``.

    The module is traced; where tracing fails (max-unpooling in torch's tracer)
    it is scripted instead. Load it with ``torch.jit.load(path)``; it takes any
    H, W that are multiples of ``meta.output_stride``.
    """
    import torch

    out = _prepare(loaded, path, ".pt")
    x = _example(loaded)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and TorchScript deprecation warnings
        try:
            compiled = torch.jit.trace(loaded.module, x)  # type: ignore[no-untyped-call]
        except Exception as trace_exc:  # the tracer raises many kinds; try scripting
            try:
                compiled = torch.jit.script(loaded.module)
            except Exception as exc:
                raise ModelError(
                    f"{out}: TorchScript export failed (trace: {trace_exc}; script: {exc}); "
                    "export ONNX instead"
                ) from exc
        try:
            with _atomic(out) as tmp:
                torch.jit.save(compiled, str(tmp))
        except (RuntimeError, OSError) as exc:
            raise ModelError(f"{out}: cannot write the TorchScript file ({exc})") from exc
    _write_sidecar(loaded, out)
    return out


def export_onnx(
    loaded: LoadedModel, path: str | Path, *, opset: int = 17, dynamic: bool = True
) -> Path:
    """Write ``loaded`` as ONNX (input ``"input"``, output ``"logits"``) plus ``<name>.json``.

    Parameters
    ----------
    loaded
        The model (from :func:`load_model`).
    path
        Output ``.onnx`` file.
    opset
        ONNX opset (the fallback exporter uses at least 18).
    dynamic
        Dynamic batch, height and width; otherwise fixed at the tile size.

    The exported graph is run once with onnxruntime and compared with PyTorch;
    a mismatch raises ModelError.
    """
    import torch

    out = _prepare(loaded, path, ".onnx")
    x = _example(loaded)
    if not dynamic:
        side = loaded.meta.tile_size
        x = torch.zeros(1, loaded.meta.in_channels, side, side, device=x.device)
    axes = {0: "batch", 2: "height", 3: "width"}
    with _atomic(out) as tmp:
        try:
            _export_legacy(loaded.module, x, tmp, opset, axes if dynamic else None)
        except Exception as legacy_exc:  # the tracer raises many kinds; try the other exporter
            try:
                _export_dynamo(loaded.module, x, tmp, max(opset, 18), dynamic)
            except Exception as exc:
                raise ModelError(
                    f"{out}: ONNX export failed ({legacy_exc}; then {exc}); "
                    "export TorchScript instead, or check that onnxscript is installed"
                ) from exc
        _check_onnx(loaded, tmp, out, dynamic)
    _write_sidecar(loaded, out)
    return out


def onnx_bytes(module: torch.nn.Module, meta: ModelMeta) -> bytes:
    """:func:`export_onnx` of an in-memory module (on CPU), as bytes: checked the same way."""
    with tempfile.TemporaryDirectory(prefix="tessera-onnx-") as tmp:
        out = export_onnx(LoadedModel(module.to("cpu"), meta, Path(tmp)), Path(tmp) / "model.onnx")
        return out.read_bytes()


def _export_legacy(
    module: torch.nn.Module, x: torch.Tensor, out: Path, opset: int, axes: dict[int, str] | None
) -> None:
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation and tracer warnings
        torch.onnx.export(
            module,
            (x,),
            str(out),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes} if axes else None,
        )


def _export_dynamo(
    module: torch.nn.Module, x: torch.Tensor, out: Path, opset: int, dynamic: bool
) -> None:
    import torch

    dim = torch.export.Dim.DYNAMIC
    shapes = ({0: dim, 2: dim, 3: dim},) if dynamic else None
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module,
            (x,),
            dynamo=True,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=shapes,
            verbose=False,
        )
    if program is None:
        raise ModelError("the exporter returned no program")
    program.save(str(out), external_data=False)


def onnx_session(path: str | Path, *, threads: int = 0) -> Callable[..., list[object]]:
    """An onnxruntime CPU session's ``run`` for ``path`` (``threads=0``: runtime default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph types
        raise ModelError(f"{path}: onnxruntime cannot load this model ({exc})") from exc
    return session.run  # type: ignore[no-any-return]


def _check_onnx(loaded: LoadedModel, onnx_path: Path, out: Path, dynamic: bool) -> None:
    """Run the exported graph on a fresh input (another size when dynamic) and compare."""
    import numpy as np
    import torch

    x = _example(loaded, batch=2 if dynamic else 1)
    if dynamic:
        s = loaded.meta.output_stride
        x = torch.cat([x, x[..., :s, :]], dim=-2)  # a different height than traced
    else:
        side = loaded.meta.tile_size
        x = torch.randn(1, loaded.meta.in_channels, side, side, device=x.device)
    with torch.no_grad():
        expected = loaded.module(x).float().cpu().numpy()
    run = onnx_session(onnx_path, threads=1)
    got = np.asarray(run([OUTPUT_NAME], {INPUT_NAME: x.cpu().numpy()})[0])
    err = float(np.abs(got - expected).max())
    scale = max(float(np.abs(expected).max()), 1.0)
    if got.shape != expected.shape or err > _CHECK_TOLERANCE * scale:
        raise ModelError(
            f"{out}: the exported ONNX graph disagrees with PyTorch (shape {got.shape} vs "
            f"{expected.shape}, max difference {err:.2e}); export TorchScript instead"
        )
