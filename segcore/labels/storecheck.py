"""Find what a label store lost, without opening it for writing.

A store keeps a count of labelled pixels per level-0 chunk
(``labelled_per_chunk``, written at every save) and never deletes a level-0
chunk file once written. So after a save, every chunk the counts say held
labels must have its file; one that is gone was lost (deleted by hand, a
failing disk, a sync tool), not emptied by an edit. :func:`inspect` checks
that in about half a millisecond of CPU per store (the counts are decoded
here directly: zarr's reader costs ~5x that, seconds for a big project).
:func:`unreadable_chunks` decodes every chunk file (slow: reads the labels).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Kind = Literal["store missing", "store unreadable", "counts missing", "chunks missing"]
COUNTS = "labelled_per_chunk"


@dataclass(frozen=True)
class Finding:
    """What is wrong with one store: a kind, a sentence, and the chunks concerned."""

    kind: Kind
    detail: str
    chunks: tuple[tuple[int, ...], ...] = ()  # level-0 chunks: (row, column) or (z, row, col)


def inspect(path: Path, *, had_labels: bool) -> Finding | None:
    """Check the store at ``path`` against its own counts.

    ``had_labels``: the project recorded labelled pixels for this image at
    its last save, so a missing store (or missing counts) is a loss.
    """
    if not path.exists():
        return Finding("store missing", "its label store is missing") if had_labels else None
    try:
        meta = json.loads((path / "zarr.json").read_text(encoding="utf-8"))
        attrs = meta["attributes"]["tessera"]
        chunk = int(attrs["chunk"])
        for layer in ("semantic", "instance"):  # the arrays that hold the labels
            json.loads((path / layer / "0" / "zarr.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Finding("store unreadable", f"its label store cannot be read ({exc})")
    counts = read_counts(path)
    if counts is None:
        if had_labels:
            return Finding(
                "counts missing",
                "the store's per-chunk label counts are missing or damaged, so lost chunks "
                "cannot be told",
            )
        return None
    present = chunk_files(path / "semantic" / "0", ndim=counts.ndim)
    held = (tuple(int(v) for v in key) for key in np.argwhere(counts > 0))
    lost = [key for key in held if key not in present]
    if not lost:
        return None
    pixels = int(sum(int(counts[key]) for key in lost))
    where = ", ".join("semantic/0/c/" + "/".join(map(str, key)) for key in lost[:3])
    more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
    return Finding(
        "chunks missing",
        f"{len(lost)} chunk file(s) ({chunk} x {chunk} pixels each) that held "
        f"{pixels:,} labelled pixels are missing: {where}{more}",
        tuple(lost),
    )


def chunk_files(array_dir: Path, *, ndim: int = 2) -> set[tuple[int, ...]]:
    """Chunk indices of every chunk file of a zarr v3 array: (row, column) for a 2-D
    array, (slice, row, column) for a label volume's 3-D one."""
    found: set[tuple[int, ...]] = set()
    _scan(array_dir / "c", (), ndim, found)
    return found


def _scan(folder: Path, prefix: tuple[int, ...], left: int, found: set[tuple[int, ...]]) -> None:
    try:
        entries = [e for e in os.scandir(folder) if e.name.isdigit()]
    except OSError:
        return
    if left == 1:
        found.update((*prefix, int(e.name)) for e in entries)
        return
    for e in entries:
        _scan(Path(e.path), (*prefix, int(e.name)), left - 1, found)


def read_counts(path: Path) -> np.ndarray | None:
    """The per-chunk counts of the store at ``path``; None if missing or undecodable."""
    folder = path / COUNTS
    try:
        meta = json.loads((folder / "zarr.json").read_text(encoding="utf-8"))
        shape = tuple(int(v) for v in meta["shape"])
        raw = folder.joinpath("c", *(["0"] * len(shape))).read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        data = _decode(raw, meta["codecs"])
    except Exception:  # noqa: BLE001 - any codec failure means damaged counts
        data = None
    if data is None:
        return _counts_by_zarr(folder)
    if len(data) != 4 * int(np.prod(shape)):
        return None
    return np.frombuffer(data, "<u4").reshape(shape).astype(np.int64)


def _decode(raw: bytes, codecs: list[dict[str, Any]]) -> bytes | None:
    """Undo the codecs Tessera writes (bytes LE, zstd, optional crc32c); None if others."""
    names = [c.get("name") for c in codecs]
    if names[:2] != ["bytes", "zstd"] or names[2:] not in ([], ["crc32c"]):
        return None
    if codecs[0].get("configuration", {}).get("endian", "little") != "little":
        return None
    if names[2:]:
        import google_crc32c

        body, stored = raw[:-4], raw[-4:]
        if np.uint32(google_crc32c.value(body)).tobytes() != stored:
            raise ValueError("checksum mismatch")
        raw = body
    from numcodecs import Zstd

    return bytes(Zstd().decode(raw))


def _counts_by_zarr(folder: Path) -> np.ndarray | None:
    """The slow, general way, for counts written with other codecs."""
    import zarr

    try:
        return np.asarray(zarr.open_array(str(folder), mode="r")[...], dtype=np.int64)
    except Exception:  # noqa: BLE001 - zarr raises codec-specific types for damage
        return None


def unreadable_chunks(path: Path) -> list[tuple[str, tuple[int, ...], str]]:
    """(layer, chunk index, reason) of every level-0 chunk file that does not decode.

    The index is (row, column), or (slice, row, column) in a label volume.
    """
    import zarr

    bad: list[tuple[str, tuple[int, ...], str]] = []
    group = zarr.open_group(str(path), mode="r", zarr_format=3)
    for layer in ("semantic", "instance"):
        arr: Any = group[f"{layer}/0"]
        shape, chunks = tuple(int(v) for v in arr.shape), tuple(int(v) for v in arr.chunks)
        for key in sorted(chunk_files(path / layer / "0", ndim=len(shape))):
            if any(i * c >= n for i, c, n in zip(key, chunks, shape, strict=True)):
                continue
            index = tuple(
                slice(i * c, min(n, i * c + c)) for i, c, n in zip(key, chunks, shape, strict=True)
            )
            try:
                arr[index]
            except Exception as exc:  # noqa: BLE001 - codec errors of any type
                bad.append((layer, key, str(exc) or type(exc).__name__))
    return bad
