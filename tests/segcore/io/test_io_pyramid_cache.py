"""The pyramid cache: pruned least recently used to its limit, never a cache in use."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from io_helpers import ramp

from segcore.cache import cache_limit, format_size, parse_size, save_limit
from segcore.cli import main as cli_main
from segcore.io import open_image
from segcore.io import pyramid_cache as pcache
from segcore.io.pyramid import LazyPyramid


def _flat_tiff(folder: Path, name: str, seed: int) -> Path:
    """A 1100 x 1030 tiled TIFF without overviews: it gets lazy levels, on disk."""
    pixels = ramp(1030, 1100, 1) + np.uint8(seed)
    path = folder / name
    tifffile.imwrite(path, pixels, tile=(128, 128))
    return path


def _cached(folder: Path, name: str, seed: int) -> LazyPyramid:
    """Open an image and compute its pyramid (the cache folder is then held)."""
    src = open_image(_flat_tiff(folder, name, seed))
    assert isinstance(src, LazyPyramid) and src.cache_dir is not None
    src.read_region(2, 0, 0, 275, 258)  # both lazy levels, whole
    return src


def _age(folder: Path, seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    os.utime(folder / pcache.LOCK_NAME, (when, when))


def test_parse_and_format_sizes() -> None:
    assert parse_size("8G") == 8 << 30
    assert parse_size("500 MB") == 500 << 20
    assert parse_size("1.5g") == 3 << 29
    assert parse_size("4096") == 4096
    assert format_size(3 << 29) == "1.5 GB" and format_size(500 << 20) == "500 MB"
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")


def test_limit_from_environment_then_saved_then_default(
    monkeypatch: pytest.MonkeyPatch, pyramid_cache: Path
) -> None:
    monkeypatch.delenv("TESSERA_PYRAMIDS_CACHE_LIMIT", raising=False)
    assert cache_limit("pyramids") == (8 << 30, "default")
    where = save_limit("pyramids", 3 << 30)
    assert where == pyramid_cache.parent / "limits.json"
    assert cache_limit("pyramids") == (3 << 30, str(where))
    assert cache_limit("onnx")[1] == "default"  # one kind's limit leaves the other alone
    monkeypatch.setenv("TESSERA_PYRAMIDS_CACHE_LIMIT", "100M")
    assert cache_limit("pyramids") == (100 << 20, "$TESSERA_PYRAMIDS_CACHE_LIMIT")


def test_prune_deletes_least_recently_used_first(tmp_path: Path) -> None:
    a, b, c = (_cached(tmp_path, f"{n}.tif", i) for i, n in enumerate("abc"))
    folders = [s.cache_dir for s in (a, b, c)]
    for src in (a, b, c):
        src.close()  # nothing is in use now
    for folder, ago in zip(folders, (300, 100, 200), strict=True):
        _age(folder, ago)
    listed = pcache.entries()
    assert [e.folder for e in listed] == [folders[0], folders[2], folders[1]]  # oldest first
    assert all(e.nbytes > 0 and not e.in_use for e in listed)
    assert listed[0].source.endswith("a.tif")
    size = listed[0].nbytes
    done = pcache.prune(limit=2 * size + size // 2)  # room for two of the three
    assert (done.removed, done.kept_in_use) == (1, 0)
    assert [p.exists() for p in folders] == [False, True, True]  # a, the oldest, went
    assert done.freed == size
    assert pcache.total_bytes() == sum(e.nbytes for e in pcache.entries())


def test_an_open_images_cache_is_never_deleted(tmp_path: Path) -> None:
    kept = _cached(tmp_path, "open.tif", 1)
    other = _cached(tmp_path, "closed.tif", 2)
    other.close()
    assert kept.cache_dir is not None and other.cache_dir is not None
    _age(kept.cache_dir, 1000)  # the open one is the least recently used
    done = pcache.prune(limit=0)
    assert (done.removed, done.kept_in_use) == (1, 1)
    assert kept.cache_dir.exists() and not other.cache_dir.exists()
    assert pcache.clear().kept_in_use == 1
    before = kept.read_region(2, 0, 0, 275, 258)  # still readable, from its cache
    kept.close()
    assert pcache.clear().removed == 1
    assert not kept.cache_dir.exists()
    again = _cached(tmp_path, "open.tif", 1)  # made afresh, same pixels
    np.testing.assert_array_equal(again.read_region(2, 0, 0, 275, 258), before)
    again.close()


def test_held_in_another_process_is_kept(tmp_path: Path, pyramid_cache: Path) -> None:
    src = _cached(tmp_path, "shared.tif", 3)
    folder = src.cache_dir
    assert folder is not None
    src.close()
    code = (
        "import sys, time; from pathlib import Path; from segcore.io import pyramid_cache as c\n"
        "h = c.hold(Path(sys.argv[1])); print('held', flush=True); time.sleep(30)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert pcache.clear().kept_in_use == 1
        assert folder.exists()
        assert [e.in_use for e in pcache.entries()] == [True]
    finally:
        child.kill()
        child.wait()
    assert pcache.clear().removed == 1  # the kernel dropped the dead child's lock


def test_opening_a_new_pyramid_prunes_the_cache_to_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _cached(tmp_path, "first.tif", 4)
    first.close()
    assert first.cache_dir is not None
    monkeypatch.setenv("TESSERA_PYRAMIDS_CACHE_LIMIT", "1")  # one byte: keep only what is in use
    second = _cached(tmp_path, "second.tif", 5)
    assert not first.cache_dir.exists()
    assert second.cache_dir is not None and second.cache_dir.exists()
    second.close()


def test_info_neither_creates_nor_prunes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _cached(tmp_path, "first.tif", 6)
    first.close()
    monkeypatch.setenv("TESSERA_PYRAMIDS_CACHE_LIMIT", "1")
    looked = open_image(_flat_tiff(tmp_path, "only-looked-at.tif", 7))
    assert isinstance(looked, LazyPyramid) and looked.cache_dir is not None
    assert not looked.cache_dir.exists()
    assert first.cache_dir is not None and first.cache_dir.exists()
    looked.close()


def test_cache_command_info_clear_limit(
    tmp_path: Path, pyramid_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cached(tmp_path, "shown.tif", 8).close()
    assert cli_main(["cache", "info", "--list"]) == 0
    out = capsys.readouterr().out
    assert "pyramids" in out and "(1 image; limit: default)" in out and "shown.tif" in out
    assert cli_main(["cache", "limit", "pyramids", "20G"]) == 0
    assert cache_limit("pyramids")[0] == 20 << 30
    assert cli_main(["cache", "limit", "pyramids", "a lot"]) == 2
    assert "not a size" in capsys.readouterr().err
    assert cli_main(["cache", "clear"]) == 0
    assert "deleted 1 pyramid " in capsys.readouterr().out
    assert pyramid_cache.exists() and pyramid_cache_entries() == []


def pyramid_cache_entries() -> list[Path]:
    return [e.folder for e in pcache.entries()]


def test_without_flock_nothing_is_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import fcntl

    def refused(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "no locks on this filesystem")

    monkeypatch.setattr(fcntl, "flock", refused)
    src = _cached(tmp_path, "nfs.tif", 9)  # a reader still works, unprotected
    src.close()
    assert [e.in_use for e in pcache.entries()] == [True]  # cannot be known to be unused
    assert pcache.clear() == pcache.Removal(removed=0, freed=0, kept_in_use=1)
    assert src.cache_dir is not None and src.cache_dir.exists()
