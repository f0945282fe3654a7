"""Build a registered architecture, checking arguments and wrapping failures."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from segcore.errors import ModelError
from segcore.models.registry import ArchEntry, get

if TYPE_CHECKING:
    from torch import nn

    from segcore.models.meta import ModelMeta


def resolve_encoder(entry: ArchEntry, encoder: str | None) -> str | None:
    """The encoder to use for ``entry``: the default when None, checked against the list."""
    if not entry.encoders:
        if encoder is not None:
            raise ModelError(f"{entry.name} has no encoder choice; leave the encoder unset")
        return None
    if encoder is None:
        return entry.default_encoder
    if encoder not in entry.encoders:
        close = difflib.get_close_matches(encoder, entry.encoders, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        choices = ", ".join(entry.encoders)
        raise ModelError(f"{entry.name} has no encoder {encoder!r}; {hint}choose one of {choices}")
    return encoder


def build_model(
    arch: str,
    *,
    num_classes: int,
    in_channels: int,
    encoder: str | None = None,
    pretrained: bool = False,
    config: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build architecture ``arch`` (random initialisation unless ``pretrained``).

    Parameters
    ----------
    arch
        A registered name (``tessera models list``), e.g. ``"small_unet"`` or ``"unet"``.
    num_classes, in_channels
        Output logits and input bands.
    encoder
        For smp architectures: one of the entry's encoders (default: its default encoder).
    pretrained
        Load ImageNet backbone/encoder weights through the torch hub cache.
    config
        Extra keyword arguments for the builder (e.g. ``{"channels": [8, 16, 32]}``).

    Returns
    -------
    torch.nn.Module
        Maps float32 (N, in_channels, H, W) to logits (N, num_classes, H, W).

    Examples
    --------
    >>> m = build_model("small_unet", num_classes=3, in_channels=4)
    """
    entry = get(arch)
    if num_classes < 1 or in_channels < 1:
        raise ModelError(
            f"{arch}: num_classes and in_channels must be >= 1, got {num_classes}, {in_channels}"
        )
    encoder = resolve_encoder(entry, encoder)
    if pretrained and not entry.pretrained_weights:
        raise ModelError(f"{arch} has no pretrained weights; train it or use an smp model")
    try:
        return entry.builder(
            num_classes=num_classes,
            in_channels=in_channels,
            encoder=encoder,
            pretrained=pretrained,
            **dict(config or {}),
        )
    except ModelError:
        raise
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"cannot build {arch} with config {dict(config or {})}: {exc}") from exc


def build_from_meta(meta: ModelMeta) -> nn.Module:
    """Rebuild the (randomly initialised) module that ``meta`` describes."""
    config = dict(meta.config)
    encoder = config.pop("encoder", None)
    return build_model(
        meta.arch,
        num_classes=meta.num_classes,
        in_channels=meta.in_channels,
        encoder=encoder,
        config=config,
    )
