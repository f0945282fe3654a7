"""Lazy pyramid levels: exact averages, the disk cache, threads, the build job."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from io_helpers import ramp
from PIL import Image

from segcore.errors import SourceError
from segcore.io import open_image
from segcore.io.bigtiff import TiffSource
from segcore.io.pyramid import LazyPyramid, halve
from segcore.jobs import run_to_end


def test_halve_averages_2x2_blocks_and_rounds() -> None:
    block = np.array([[1, 2, 10, 20], [3, 4, 30, 41]], np.uint8)[..., None]
    assert halve(block, None)[..., 0].tolist() == [[2, 25]]  # 2.5 -> 2, 25.25 -> 25


def test_halve_skips_nodata_and_averages_odd_edges() -> None:
    block = np.array([[0, 8, 5], [0, 0, 7], [9, 9, 0]], np.int16)[..., None]
    out = halve(block, nodata=0)[..., 0]
    # [0 8 / 0 0] -> 8; [5 / 7] edge column -> 6; [9 9] edge row -> 9; [0] -> nodata 0
    assert out.tolist() == [[8, 6], [9, 0]]


def test_halve_ignores_nan_in_floats() -> None:
    block = np.array([[np.nan, 1.0], [3.0, np.nan]], np.float32)[..., None]
    assert halve(block, None)[..., 0].tolist() == [[2.0]]
    all_nan = np.full((2, 2, 1), np.nan, np.float32)
    assert np.isnan(halve(all_nan, float("nan"))).all()


def _tiled(tmp_path: Path, name: str = "tiled.tif") -> tuple[Path, np.ndarray]:
    pixels = ramp(1100, 1300, 2, "uint16")
    path = tmp_path / name
    tifffile.imwrite(path, pixels, tile=(128, 128), planarconfig="contig")
    return path, pixels


def _counting(inner: TiffSource) -> list[tuple[int, int]]:
    """Record the (width, height) of every window read from ``inner``."""
    seen: list[tuple[int, int]] = []
    original = inner._read
    lock = threading.Lock()

    def counted(level: int, x0: int, y0: int, x1: int, y1: int, z: int) -> Any:
        with lock:
            seen.append((x1 - x0, y1 - y0))
        return original(level, x0, y0, x1, y1, z)

    inner._read = counted  # type: ignore[method-assign]
    return seen


def test_levels_equal_repeated_halving(tmp_path: Path) -> None:
    path, pixels = _tiled(tmp_path)
    src = open_image(path)
    assert isinstance(src, LazyPyramid)
    assert list(src.lazy_levels) == [1, 2]
    level2 = halve(halve(pixels, None), None)
    np.testing.assert_array_equal(src.read_region(2, 0, 0, 325, 275), level2)
    np.testing.assert_array_equal(
        src.read_region(1, 600, 500, 60, 60)[:50, :50], halve(pixels, None)[500:550, 600:650]
    )


def test_threads_compute_each_chunk_once_from_small_windows(tmp_path: Path) -> None:
    path, pixels = _tiled(tmp_path)
    inner = TiffSource(path)
    seen = _counting(inner)
    src = LazyPyramid(inner, chunk=128)
    windows = [(x, y) for x in range(0, 325, 40) for y in range(0, 275, 40)] * 3
    with ThreadPoolExecutor(8) as pool:
        tiles = list(pool.map(lambda w: src.read_region(2, w[0], w[1], 50, 50), windows))
    level2 = halve(halve(pixels, None), None)
    for (x, y), tile in zip(windows, tiles, strict=True):
        np.testing.assert_array_equal(tile[: 275 - y, : 325 - x], level2[y : y + 50, x : x + 50])
    # level 1 is 650 x 550 = 6 x 5 chunks of 128: each read level 0 exactly once
    assert len(seen) == 30
    assert max(w for w, _ in seen) <= 256 and max(h for _, h in seen) <= 256


def test_cache_survives_reopening_and_changes_with_the_file(
    tmp_path: Path, pyramid_cache: Path
) -> None:
    path, pixels = _tiled(tmp_path)
    first = open_image(path)
    assert isinstance(first, LazyPyramid) and first.cache_dir is not None
    assert first.cache_dir.parent == pyramid_cache
    before = first.read_region(2, 0, 0, 325, 275)
    assert (first.cache_dir / "source.json").exists()

    inner = TiffSource(path)
    seen = _counting(inner)
    again = LazyPyramid(inner)
    np.testing.assert_array_equal(again.read_region(2, 0, 0, 325, 275), before)
    assert seen == []  # every chunk came from the disk cache

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = open_image(path)
    assert isinstance(changed, LazyPyramid) and changed.cache_dir != first.cache_dir


def test_build_levels_reports_progress_and_stops_cleanly(tmp_path: Path) -> None:
    path, _ = _tiled(tmp_path)
    src = LazyPyramid(TiffSource(path), chunk=128)
    job = src.build_levels()
    steps = [next(job) for _ in range(5)]
    assert [s.done for s in steps] == [1, 2, 3, 4, 5]
    assert steps[0].total == 30 + 9  # level 1: 6 x 5 chunks, level 2: 3 x 3
    job.close()
    run_to_end(src.build_levels())
    assert src.cache_dir is not None
    files = list((src.cache_dir / "level2").rglob("c/*/*/*/*"))
    assert len(files) == 9


def test_in_memory_images_keep_lazy_levels_in_memory(tmp_path: Path, pyramid_cache: Path) -> None:
    path = tmp_path / "wide.png"
    Image.fromarray(ramp(600, 1500, 3)).save(path)
    src = open_image(path)
    assert isinstance(src, LazyPyramid) and src.cache_dir is None
    assert src.thumbnail(100).shape == (40, 100, 3)
    assert not pyramid_cache.exists()


def test_info_does_not_compute_levels(tmp_path: Path, pyramid_cache: Path) -> None:
    path, _ = _tiled(tmp_path)
    src = open_image(path)
    assert src.level_size(2) == (325, 275)
    assert not pyramid_cache.exists()


@pytest.mark.parametrize("z", [0, 1])
def test_volumes_get_per_plane_levels(tmp_path: Path, z: int) -> None:
    volume = ramp(2 * 1100, 1200, 1, "uint8").reshape(2, 1100, 1200)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, volume, tile=(256, 256), metadata={"axes": "ZYX"})
    src = open_image(path)
    assert src.depth == 2
    np.testing.assert_array_equal(
        src.read_region(1, 0, 0, 600, 550, z=z)[..., 0], halve(volume[z][..., None], None)[..., 0]
    )


def test_unwritable_cache_is_a_source_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should go")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(blocker))
    path, _ = _tiled(tmp_path)
    src = open_image(path)
    assert src.read_region(0, 0, 0, 8, 8).shape == (8, 8, 2)  # level 0 needs no cache
    with pytest.raises(SourceError, match="tiled.tif: cannot write the pyramid cache"):
        src.read_region(1, 0, 0, 8, 8)
