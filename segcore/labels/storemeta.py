"""A label store's layout on disk: creating it, reading and checking its metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from segcore.errors import LabelError
from segcore.labels.reader import DTYPES, FILLS, LAYERS

FORMAT_VERSION = 2  # the newest this Tessera reads
PLANE_VERSION = 1  # 2-D stores are still written as version 1 (older Tessera opens them)
VOLUME_VERSION = 2  # version 2 adds "depth": arrays (depth, height, width), chunks (1, c, c)


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
    meta.setdefault("depth", 1)
    if version < VOLUME_VERSION and meta["depth"] != 1:
        raise DamagedStoreError(
            f"label store {path}: format version {version} has no depth axis but says "
            f"depth {meta['depth']!r}; the store's zarr.json is damaged"
        )
    keys = ("width", "height", "depth", "chunk", "overview_limit", "levels", "max_instance")
    for key in keys:
        value = meta.get(key)
        if not isinstance(value, int) or value < 0 or (key != "max_instance" and value < 1):
            raise DamagedStoreError(
                f"label store {path}: attribute {key!r} is {value!r}, expected a positive "
                "integer; the store's zarr.json is damaged"
            )
    return dict(meta)


def open_arrays(path: Path, group: Any, sizes: list[tuple[int, int]], depth: int) -> dict[str, Any]:
    """The store's arrays by cache name, checked against its size: ``semantic/0`` ... of a
    2-D store, one :class:`~segcore.labels.planes.PlaneArray` per slice (``semantic/0@z``)
    of a label volume. Level 0 keeps chunk files written even when empty."""
    from segcore.labels.planes import PlaneArray, plane_name

    arrays: dict[str, Any] = {}
    for layer in LAYERS:
        for level, (w, h) in enumerate(sizes):
            name = f"{layer}/{level}"
            arr = member(path, group, name)
            if level == 0:
                arr = arr.with_config({"write_empty_chunks": True})
            shape = (h, w) if depth == 1 else (depth, h, w)
            if tuple(arr.shape) != shape:
                raise DamagedStoreError(
                    f"label store {path}: array {name} has shape {tuple(arr.shape)}, "
                    f"expected {shape}; the store is damaged, restore it from a backup"
                )
            if depth == 1:
                arrays[name] = arr
            else:
                arrays.update((plane_name(name, z), PlaneArray(arr, z)) for z in range(depth))
    return arrays


def open_counts(path: Path, group: Any, depth: int) -> tuple[Any, np.ndarray]:
    """The ``labelled_per_chunk`` array and its values: (rows, cols), or (slices, rows, cols)."""
    array = member(path, group, "labelled_per_chunk").with_config({"write_empty_chunks": True})
    try:
        counts = np.asarray(array[...], dtype=np.int64)
    except Exception as exc:  # a damaged chunk file; zarr raises codec-specific types
        raise DamagedStoreError(
            f"label store {path}: labelled_per_chunk cannot be read ({exc}); "
            "restore the store from a backup"
        ) from exc
    if counts.ndim != (2 if depth == 1 else 3):
        raise DamagedStoreError(
            f"label store {path}: labelled_per_chunk has the wrong shape; "
            "restore the store from a backup"
        )
    return array, counts


def write_layout(
    path: Path,
    *,
    width: int,
    height: int,
    chunk: int,
    overview_limit: int,
    levels: list[tuple[int, int]],
    depth: int = 1,
) -> None:
    """Create the empty zarr group of a store: both layers at every level, counts, attributes.

    Every chunk carries a CRC-32C after its zstd data, so a damaged chunk
    file fails to decode instead of giving wrong labels. With ``depth > 1``
    (a label volume, format version 2) every array gets a leading slice axis
    chunked one slice at a time, overviews included (they are per slice).
    """
    import zarr
    from zarr.codecs import Crc32cCodec, ZstdCodec

    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    for layer in LAYERS:
        for level, (w, h) in enumerate(levels):
            group.create_array(
                f"{layer}/{level}",
                shape=(h, w) if depth == 1 else (depth, h, w),
                chunks=(chunk, chunk) if depth == 1 else (1, chunk, chunk),
                dtype=DTYPES[layer],
                fill_value=FILLS[layer],
                compressors=(ZstdCodec(level=3), Crc32cCodec()),
            )
    ny, nx = -(-height // chunk), -(-width // chunk)
    counts = (ny, nx) if depth == 1 else (depth, ny, nx)
    group.create_array(
        "labelled_per_chunk",
        shape=counts,
        chunks=counts,
        dtype=np.uint32,
        fill_value=0,
        compressors=(ZstdCodec(level=0), Crc32cCodec()),
    )
    attrs: dict[str, Any] = {
        "kind": "label_store",
        "version": PLANE_VERSION if depth == 1 else VOLUME_VERSION,
        "width": width,
        "height": height,
        "chunk": chunk,
        "overview_limit": overview_limit,
        "levels": len(levels),
        "max_instance": 0,
    }
    if depth > 1:
        attrs["depth"] = depth
    group.attrs["tessera"] = attrs


def counts_file(path: Path, depth: int) -> Path:
    """The one chunk file of a store's ``labelled_per_chunk`` array."""
    return path.joinpath("labelled_per_chunk", "c", *(["0"] * (2 if depth == 1 else 3)))


def sync_files(path: Path, written: set[tuple[str, int, int]], *, depth: int = 1) -> None:
    """fsync the chunk files ``written`` (cache keys), the counts and metadata."""
    from segcore.labels.chunkcache import chunk_path

    dirs = {path, path / "labelled_per_chunk"}
    files = [path / "zarr.json", counts_file(path, depth)]
    for key in written:
        files.append(chunk_path(path, key))
    for f in files:
        dirs.add(f.parent)
        if f.is_file():
            fsync_path(f, os.O_RDONLY)
    for d in dirs:
        if d.is_dir():
            fsync_path(d, os.O_RDONLY)
