"""A label store's layout on disk: creating it, reading and checking its metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import LabelError
from segcore.labels.reader import DTYPES, FILLS, LAYERS

FORMAT_VERSION = 1


class DamagedStoreError(LabelError):
    """A store's own files are missing or unreadable (restore it, or accept the loss)."""


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
        raise DamagedStoreError(
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
            raise DamagedStoreError(
                f"label store {path}: attribute {key!r} is {value!r}, expected a positive "
                "integer; the store's zarr.json is damaged"
            )
    return dict(meta)


def write_layout(
    path: Path,
    *,
    width: int,
    height: int,
    chunk: int,
    overview_limit: int,
    levels: list[tuple[int, int]],
) -> None:
    """Create the empty zarr group of a store: both layers at every level, counts, attributes.

    Every chunk carries a CRC-32C after its zstd data, so a damaged chunk
    file fails to decode instead of giving wrong labels.
    """
    import zarr
    from zarr.codecs import Crc32cCodec, ZstdCodec

    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    for layer in LAYERS:
        for level, (w, h) in enumerate(levels):
            group.create_array(
                f"{layer}/{level}",
                shape=(h, w),
                chunks=(chunk, chunk),
                dtype=DTYPES[layer],
                fill_value=FILLS[layer],
                compressors=(ZstdCodec(level=3), Crc32cCodec()),
            )
    ny, nx = -(-height // chunk), -(-width // chunk)
    group.create_array(
        "labelled_per_chunk",
        shape=(ny, nx),
        chunks=(ny, nx),
        dtype=np.uint32,
        fill_value=0,
        compressors=(ZstdCodec(level=0), Crc32cCodec()),
    )
    group.attrs["tessera"] = {
        "kind": "label_store",
        "version": FORMAT_VERSION,
        "width": width,
        "height": height,
        "chunk": chunk,
        "overview_limit": overview_limit,
        "levels": len(levels),
        "max_instance": 0,
    }


def sync_files(path: Path, written: set[tuple[str, int, int]]) -> None:
    """fsync the chunk files ``written`` (array name, row, column), the counts and metadata."""
    dirs = {path, path / "labelled_per_chunk"}
    files = [path / "zarr.json", path / "labelled_per_chunk" / "c" / "0" / "0"]
    for name, cy, cx in written:
        files.append(path / name / "c" / str(cy) / str(cx))
    for f in files:
        dirs.add(f.parent)
        if f.is_file():
            fsync_path(f, os.O_RDONLY)
    for d in dirs:
        if d.is_dir():
            fsync_path(d, os.O_RDONLY)
