"""Embeddings cached on disk: one small zarr group per image, encoder and window.

Layout under the user cache (``$TESSERA_CACHE_DIR/embeddings`` when set)::

    embeddings/<image key>/<encoder digest>/<window key>.zarr   one array per output

The image key hashes the file's path, size, modification time and level
sizes, so an edited file never reuses old embeddings; the encoder digest
keeps pairs apart. A window's group is written under a temporary name and
renamed when complete, so a group on disk is a whole embedding. Values are
stored as float16 (SAM's embeddings are float32 of a few units; float16
keeps three significant digits and halves the cache). The cache is bounded
in bytes: the least recently used windows are deleted first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from segcore.cache import cache_dir
from segcore.prompt.geometry import Levels, Window

LIMIT_BYTES = 4 << 30
Embedding = dict[str, np.ndarray]


def image_key(path: Path, levels: Levels) -> str:
    """Hash of where the image is, its size, modification time and level sizes."""
    try:
        info = path.stat()
        stamp = f"{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        stamp = "in-memory"
    text = f"{path.resolve() if path.exists() else path}|{stamp}|{levels.sizes}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class EmbeddingCache:
    """Embeddings of one image for one encoder; safe across threads and processes."""

    def __init__(
        self, image: str, encoder_digest: str, *, root: Path | None = None,
        limit_bytes: int = LIMIT_BYTES,
    ) -> None:  # fmt: skip
        self.root = root or cache_dir("embeddings")
        self.folder = self.root / image / encoder_digest
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()

    def path(self, window: Window) -> Path:
        return self.folder / f"{window.key}.zarr"

    def has(self, window: Window) -> bool:
        return self.path(window).is_dir()

    def get(self, window: Window) -> Embedding | None:
        """The cached embedding of ``window`` (float32), or None."""
        import zarr

        path = self.path(window)
        if not path.is_dir():
            return None
        try:
            group = zarr.open_group(str(path), mode="r", zarr_format=3)
            out = {name: np.asarray(arr[...], np.float32) for name, arr in group.arrays()}
        except Exception:  # removed by a prune in another process, or damaged: recompute
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return out or None

    def put(self, window: Window, embedding: Embedding) -> Path:
        """Store ``embedding`` for ``window`` (whole or not at all), then prune."""
        import zarr

        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(window)
        tmp = Path(tempfile.mkdtemp(prefix=f".{window.key}.", dir=self.folder))
        try:
            group = zarr.open_group(str(tmp / "g"), mode="w", zarr_format=3)
            for name, value in embedding.items():
                arr = group.create_array(
                    name, shape=value.shape, dtype="float16", chunks=value.shape
                )
                arr[...] = value.astype(np.float16)
            with self._lock:
                if target.exists():
                    shutil.rmtree(target, ignore_errors=True)
                os.replace(tmp / "g", target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.prune(keep=target)
        return target

    def size_bytes(self) -> int:
        """Bytes of every cached embedding under the cache's root (all images)."""
        return sum(size for _, size, _ in _entries(self.root))

    def prune(self, *, keep: Path | None = None) -> int:
        """Delete least recently used windows until the root holds <= ``limit_bytes``;
        returns how many were deleted."""
        entries = _entries(self.root)
        total = sum(size for _, size, _ in entries)
        deleted = 0
        for _, size, path in sorted(entries):
            if total <= self.limit_bytes:
                break
            if path != keep:
                shutil.rmtree(path, ignore_errors=True)
                total -= size
                deleted += 1
        return deleted

    def clear(self) -> None:
        """Forget this image's embeddings for this encoder."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _entries(root: Path) -> list[tuple[float, int, Path]]:
    """(last use, bytes, path) of every window group under ``root``."""
    found = []
    for group in root.glob("*/*/*.zarr"):
        try:
            used = group.stat().st_mtime
            size = sum(f.stat().st_size for f in group.rglob("*") if f.is_file())
        except OSError:
            continue
        found.append((used, size, group))
    return found
