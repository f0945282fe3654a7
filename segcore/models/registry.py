"""The architecture registry: ``register`` refuses duplicates, ``get`` and ``list_archs``.

An :class:`ArchEntry` carries its own metadata (family, encoders, whether it has
global context, default tile size, output stride). An architecture registers
itself beside its builder, with the :func:`architecture` decorator::

    @architecture("small_unet", family="tessera", description="...", output_stride=8)
    def build(*, num_classes, in_channels, encoder=None, pretrained=False, **config): ...

The modules in :data:`BUILTIN` are imported on first use (their builders import
torch only when called), so importing the registry never imports torch.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from segcore.errors import ModelError
from segcore.models.meta import Task

if TYPE_CHECKING:
    from torch import nn

Family = Literal["torchvision", "smp", "tessera", "sklearn"]
Builder = Callable[..., "nn.Module"]


@dataclass(frozen=True)
class ArchEntry:
    """One architecture and what Tessera needs to know about it.

    ``builder(*, num_classes, in_channels, encoder=None, pretrained=False, **config)``
    returns a module whose forward maps (N, in_channels, H, W) to logits
    (N, num_classes, H, W). ``output_stride`` is the input size multiple the model
    needs for the default config; ``stride_of(config)``, where given, works it out
    for another builder config (e.g. more U-Net levels).
    """

    name: str
    family: Family
    description: str
    builder: Builder
    encoders: tuple[str, ...] = ()
    default_encoder: str | None = None
    global_context: bool = False
    tile_size: int = 512
    output_stride: int = 32
    stride_of: Callable[[Mapping[str, Any]], int] | None = None
    pretrained_weights: bool = True
    task: Task = "semantic"  # "instance": the outputs are dense maps grouped into objects

    def stride_for(self, config: Mapping[str, Any]) -> int:
        """Output stride (the input size multiple) for a given builder config."""
        if self.stride_of is None or not config:
            return self.output_stride
        try:
            return int(self.stride_of(config))
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{self.name}: bad config {dict(config)} ({exc})") from exc


BUILTIN = (  # the modules whose architectures are registered on first use
    "segcore.models.torchvision_archs",
    "segcore.models.smp_archs",
    "segcore.models.small_unet",
    "segcore.models.segnet",
    "segcore.models.resunet",
    "segcore.models.pixel_classifier",
    "segcore.models.instance_unet",
)
_REGISTRY: dict[str, ArchEntry] = {}
_builtins_loaded = False


def register(entry: ArchEntry) -> ArchEntry:
    """Add ``entry``; a second entry with the same name is refused."""
    if entry.name in _REGISTRY:
        raise ModelError(f"architecture {entry.name!r} is already registered")
    _REGISTRY[entry.name] = entry
    return entry


def architecture(
    name: str, *, family: Family, description: str, **meta: Any
) -> Callable[[Builder], Builder]:
    """Register the decorated builder as architecture ``name`` (``meta``: the other
    :class:`ArchEntry` fields); the builder is returned unchanged."""

    def decorate(builder: Builder) -> Builder:
        register(ArchEntry(name, family, description, builder, **meta))
        return builder

    return decorate


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN:
            importlib.import_module(module)  # registers its architectures


def get(name: str) -> ArchEntry:
    """The entry called ``name``; unknown names raise ModelError with suggestions."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError as exc:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "see `tessera models list`"
        raise ModelError(f"unknown architecture {name!r}; {hint}") from exc


def list_archs() -> list[ArchEntry]:
    """Every registered architecture, sorted by name."""
    _load_builtins()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
