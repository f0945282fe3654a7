"""The export/import formats by name; each carries its writer, reader and traits.

A format registers itself at the end of the module that writes and reads it::

    register(Format("png", "indexed PNG class masks", kind="semantic",
                    fidelity="classes", writer=PngClassWriter, reader=read_png_masks))

On first use every module of :mod:`segcore.formats` is imported (they import
their heavy libraries only when they run), so adding a format is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from segcore.errors import FormatError
from segcore.formats.base import ExportOptions, Imported, Writer

Kind = Literal["semantic", "instances", "panoptic", "dataset", "vector", "volume"]
KINDS: tuple[Kind, ...] = ("semantic", "instances", "panoptic", "dataset", "vector", "volume")
# What survives export -> import: "exact" both layers (instance ids renumbered 1..n
# in id order), "classes" the class layer only, "outline" polygon approximations.
Fidelity = Literal["exact", "classes", "outline"]


@dataclass(frozen=True)
class Format:
    """A registered format. ``reader(path, **context)`` imports; ``writer(options)`` exports."""

    name: str
    description: str
    kind: Kind
    fidelity: Fidelity
    writer: Callable[[ExportOptions], Writer]
    reader: Callable[..., Imported]
    needs: tuple[str, ...] = ()  # reader keywords that are required (e.g. width, height)


_FORMATS: dict[str, Format] = {}
_loaded = False


def register(fmt: Format) -> None:
    if fmt.name in _FORMATS:
        raise FormatError(f"format {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt


def get_format(name: str) -> Format:
    _load()
    try:
        return _FORMATS[name]
    except KeyError:
        raise FormatError(
            f"unknown format {name!r}; choose one of: {', '.join(sorted(_FORMATS))}"
        ) from None


def list_formats() -> list[Format]:
    """Every format, grouped by kind (semantic first: ``png`` is the default), then in
    the order they were registered."""
    _load()
    return sorted(_FORMATS.values(), key=lambda f: KINDS.index(f.kind))


def _load() -> None:
    """Import every module of the formats package once: format modules register themselves."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import segcore.formats as package

    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        importlib.import_module(f"{package.__name__}.{module}")


def import_labels(name: str, path: Path, **context: Any) -> Imported:
    """Import ``path`` in format ``name``; ``context`` passes reader keywords
    (``images_dir``, ``width``/``height``/``transform``/``crs`` for vectors)."""
    fmt = get_format(name)
    missing = [k for k in fmt.needs if context.get(k) is None]
    if missing:
        raise FormatError(f"importing {name} needs {', '.join(missing)} (the image's grid)")
    import inspect

    accepted = inspect.signature(fmt.reader).parameters
    kwargs = {k: v for k, v in context.items() if k in accepted and v is not None}
    return fmt.reader(Path(path), **kwargs)
