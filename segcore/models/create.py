"""Create a new model: build it, probe it and fill in its metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from segcore.errors import ModelError, TesseraError
from segcore.jobs import Job, run_to_end
from segcore.labels.schema import ClassInfo
from segcore.models.build import build_model, resolve_encoder
from segcore.models.meta import ModelMeta, Normalization
from segcore.models.registry import get
from segcore.models.sidecar import classes_from

if TYPE_CHECKING:
    from torch import nn

# the largest probe input per family: smp encoders reach ~300 px (resnet18 U-Net);
# torchvision's dilated backbones reach further still, too slow to probe on a CPU
_PROBE_SIZE = {"torchvision": 128, "smp": 1024, "tessera": 512}


def create_model(
    arch: str,
    *,
    classes: int | Sequence[str] | Sequence[ClassInfo],
    in_channels: int,
    encoder: str | None = None,
    tile_size: int | None = None,
    normalization: Normalization | None = None,
    pretrained: bool = False,
    config: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, ModelMeta]:
    """Build ``arch``, measure its receptive field and return the module and its metadata.

    Parameters
    ----------
    arch
        A registered architecture name.
    classes
        A class count (named ``class_0``...), a list of names, or ClassInfo objects.
    in_channels
        Input bands.
    encoder, pretrained, config
        As for :func:`build_model`.
    tile_size
        Tile side the model is meant to run at (rounded up to the output stride);
        default: the architecture's.
    normalization
        Global input normalisation; default ``pixel / 255`` per band.

    Examples
    --------
    >>> module, meta = create_model("small_unet", classes=["bg", "cell"], in_channels=1)
    >>> meta.exact, meta.receptive_field is not None
    (True, True)
    """
    entry = get(arch)
    info = _classes(classes)
    norm = normalization or Normalization((0.0,) * in_channels, (1.0,) * in_channels, 255.0)
    if len(norm.mean) != in_channels or len(norm.std) != in_channels:
        raise ModelError(
            f"normalization has {len(norm.mean)} means and {len(norm.std)} stds for "
            f"{in_channels} input bands; give one per band"
        )
    encoder = resolve_encoder(entry, encoder)
    config = dict(config or {})
    module = build_model(
        arch,
        num_classes=len(info),
        in_channels=in_channels,
        encoder=encoder,
        pretrained=pretrained,
        config=config,
    )
    stride = entry.stride_for(config)
    meta = ModelMeta(
        arch=arch,
        config={"encoder": encoder, **config} if entry.encoders else config,
        in_channels=in_channels,
        classes=info,
        normalization=norm,
        tile_size=-(-(tile_size or entry.tile_size) // stride) * stride,
        output_stride=stride,
        extra={"pretrained": pretrained},
        task=entry.task,
    )
    return module, reprobe(module, meta)


def reprobe(module: nn.Module, meta: ModelMeta) -> ModelMeta:
    """:func:`reprobe_job` run to its end."""
    return run_to_end(reprobe_job(module, meta))


def reprobe_job(module: nn.Module, meta: ModelMeta) -> Job[ModelMeta]:
    """``meta`` with the receptive field and exactness measured again on ``module`` (a job).

    Training changes the weights and with them the effective receptive field
    (deep paths that random initialisation damps grow stronger), so run this
    on the trained module before saving it.
    """
    from segcore.models import probe as probing

    entry = get(meta.arch)
    probe = yield from probing.probe(
        module,
        in_channels=meta.in_channels,
        output_stride=meta.output_stride,
        global_context=entry.global_context,
        max_size=_PROBE_SIZE[entry.family],
    )
    extra = dict(meta.extra)
    extra["probe"] = {
        "tolerance": probe.tolerance,
        "reason": probe.reason,
        "size": probe.probe_size,
        "radii": [list(r) for r in probe.radii],
    }
    return replace(meta, receptive_field=probe.receptive_field, exact=probe.exact, extra=extra)


def _classes(classes: int | Sequence[str] | Sequence[ClassInfo]) -> tuple[ClassInfo, ...]:
    if isinstance(classes, Sequence) and classes and isinstance(classes[0], ClassInfo):
        return tuple(c for c in classes if isinstance(c, ClassInfo))
    try:
        return classes_from(classes if isinstance(classes, int) else list(classes))
    except (TesseraError, ValueError) as exc:
        raise ModelError(f"bad classes {classes!r}: {exc}") from exc
