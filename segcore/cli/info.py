"""``tessera info PATH``: print an image's metadata as JSON.

Opening reads headers only; lazy pyramid levels are listed, not computed, so
this is fast on files of any size. It never imports torch.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from segcore.io.source import ImageSource


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "info",
        help="print an image's metadata as JSON",
        description="Print an image's size, bands, levels and georeferencing as JSON.",
    )
    parser.add_argument("path", help="image file or zarr directory")
    parser.add_argument(
        "--axis",
        type=int,
        default=2,
        choices=(0, 1, 2),
        help="NIfTI voxel axis sliced into planes (default 2, axial)",
    )
    parser.add_argument("--compact", action="store_true", help="one line of JSON")


def describe(source: ImageSource) -> dict[str, Any]:
    """Everything ``tessera info`` reports about an open source, JSON-ready."""
    meta = source.metadata
    levels = []
    for i, factor in enumerate(source.level_downsamples):
        width, height = source.level_size(i)
        levels.append({"downsample": factor, "width": width, "height": height})
    known = meta.as_dict()
    extra = {k: v for k, v in known.items() if k not in _META_KEYS}
    return {
        "path": str(source.path),
        "format": meta.format,
        "width": source.width,
        "height": source.height,
        "bands": source.band_count,
        "band_names": list(source.band_names),
        "dtype": str(source.dtype),
        "levels": levels,
        "depth": source.depth,
        "nodata": _number(source.nodata),
        "crs": meta.crs,
        "transform": _listed(meta.transform),
        "mpp": _listed(meta.mpp),
        "spacing": _listed(meta.pixel_spacing),
        "window": _listed(meta.window),
        "modality": meta.modality,
        "orientation": meta.orientation,
        "extra": extra,
    }


_META_KEYS = {"format", "crs", "transform", "mpp", "pixel_spacing", "orientation"}
_META_KEYS |= {"modality", "window"}


def run(args: argparse.Namespace) -> int:
    from segcore.io import open_image

    source = open_image(args.path, axis=args.axis)
    try:
        info = describe(source)
    finally:
        source.close()
    text = json.dumps(info, indent=None if args.compact else 2, default=str)
    sys.stdout.write(text + "\n")
    return 0


def _number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return str(value)  # NaN / inf are not JSON numbers


def _listed(value: tuple[Any, ...] | None) -> list[Any] | None:
    return None if value is None else list(value)
