"""Reading and checking a label store's metadata; fsync helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from segcore.errors import LabelError

FORMAT_VERSION = 1


def fsync_path(path: Path, flags: int) -> None:
    """fsync a file or a directory by path."""
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def member(path: Path, group: Any, name: str) -> Any:
    """Array ``name`` of the store's zarr group, or a LabelError saying the store is damaged."""
    try:
        return group[name]
    except Exception as exc:  # KeyError, or zarr's errors for damaged metadata
        raise LabelError(
            f"label store {path} has no readable array {name!r}; the store is damaged, "
            "restore it from a backup"
        ) from exc


def read_meta(path: Path, group: Any) -> dict[str, Any]:
    """The checked ``tessera`` attributes of a store (LabelError naming the bad key)."""
    meta = group.attrs.get("tessera")
    if not isinstance(meta, dict) or meta.get("kind") != "label_store":
        raise LabelError(f"{path} is a zarr group but not a Tessera label store")
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise LabelError(
            f"label store {path} has format version {version!r}; this Tessera reads "
            f"up to {FORMAT_VERSION}: update Tessera to open it"
        )
    for key in ("width", "height", "chunk", "overview_limit", "levels", "max_instance"):
        value = meta.get(key)
        if not isinstance(value, int) or value < 0 or (key != "max_instance" and value < 1):
            raise LabelError(
                f"label store {path}: attribute {key!r} is {value!r}, expected a positive "
                "integer; the store's zarr.json is damaged"
            )
    return dict(meta)
