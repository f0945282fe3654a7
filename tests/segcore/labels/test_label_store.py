"""The chunked label store: creation, windows, persistence, bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from label_helpers import StoreFactory, maps

from segcore.errors import LabelError
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED
from segcore.labels.store import LabelStore


def _disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_huge_store_is_instant_and_tiny(tmp_path: Path) -> None:
    start = time.perf_counter()
    s = LabelStore.create(tmp_path / "big.zarr", width=100_000, height=100_000)
    assert time.perf_counter() - start < 5.0
    assert _disk_bytes(tmp_path / "big.zarr") < 200_000  # metadata only, no chunk
    assert s.level_size(0) == (100_000, 100_000)
    assert s.level_count == 9 and s.level_size(8) == (391, 391)
    assert s.level_downsamples[:3] == (1.0, 2.0, 4.0)
    window = s.read("semantic", 99_990, 99_990, 20, 20)
    assert window.shape == (20, 20) and (window == UNLABELLED).all()
    s.write("semantic", 50_000, 60_000, np.full((3, 3), 4, np.uint8))
    s.flush()
    # one chunk per level was written, nothing else
    assert _disk_bytes(tmp_path / "big.zarr") < 300_000
    again = LabelStore.open(tmp_path / "big.zarr", expect_size=(100_000, 100_000))
    assert again.read("semantic", 49_999, 60_000, 3, 1).tolist() == [[255, 4, 4]]
    assert again.labelled_pixels == 9


def test_windows_across_chunks_and_outside(new_store: StoreFactory) -> None:
    s = new_store(20, 12)
    data = np.arange(10 * 6, dtype=np.uint8).reshape(6, 10)
    assert s.write("semantic", 5, 4, data) == Box(5, 4, 10, 6)
    np.testing.assert_array_equal(s.read("semantic", 5, 4, 10, 6), data)
    window = s.read("semantic", -2, -2, 4, 4)
    assert (window == UNLABELLED).all()
    inst = np.arange(1, 9, dtype=np.uint32).reshape(2, 4) * 100_000
    s.write("instance", 16, 10, inst)
    np.testing.assert_array_equal(s.read("instance", 16, 10, 4, 2), inst)
    assert s.max_instance == 800_000
    assert s.labelled_pixels == 60 and s.labelled_fraction == 60 / 240


def test_persists_through_a_tiny_cache(tmp_path: Path) -> None:
    # a cache of a few chunks forces evictions (writes) while painting
    s = LabelStore.create(tmp_path / "a.zarr", width=40, height=24, chunk=8, cache_bytes=1)
    rng = np.random.default_rng(0)
    sem = rng.integers(0, 4, (24, 40)).astype(np.uint8)
    inst = rng.integers(0, 50, (24, 40)).astype(np.uint32)
    for y in range(0, 24, 5):
        s.write("semantic", 0, y, sem[y : y + 5])
        s.write("instance", 0, y, inst[y : y + 5])
    s.close()
    again = LabelStore.open(tmp_path / "a.zarr")
    got_sem, got_inst = maps(again)
    np.testing.assert_array_equal(got_sem, sem)
    np.testing.assert_array_equal(got_inst, inst)
    assert again.labelled_pixels == 24 * 40 and again.max_instance == 49


def test_size_mismatch_names_both_sizes(new_store: StoreFactory) -> None:
    s = new_store(16, 12)
    with pytest.raises(LabelError, match=r"16x12.*30x40"):
        LabelStore.open(s.path, expect_size=(30, 40))


def test_bad_writes_are_refused(new_store: StoreFactory) -> None:
    s = new_store(8, 8)
    with pytest.raises(LabelError, match="outside"):
        s.write("semantic", 6, 6, np.zeros((4, 4), np.uint8))
    with pytest.raises(LabelError, match="uint8"):
        s.write("semantic", 0, 0, np.zeros((2, 2), np.int64))
    with pytest.raises(LabelError, match="unknown label layer"):
        s.read("colour", 0, 0, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(LabelError, match="levels 0..1"):
        s.read("semantic", 0, 0, 1, 1, level=3)
    ro = LabelStore.open(s.path, read_only=True)
    with pytest.raises(LabelError, match="read-only"):
        ro.write("semantic", 0, 0, np.zeros((1, 1), np.uint8))
    assert s.labelled_pixels == 0


def test_create_refuses_bad_sizes_and_existing(tmp_path: Path, new_store: StoreFactory) -> None:
    with pytest.raises(LabelError, match="0x5"):
        LabelStore.create(tmp_path / "x.zarr", width=0, height=5)
    s = new_store(8, 8)
    with pytest.raises(LabelError, match="already exists"):
        LabelStore.create(s.path, width=8, height=8)


def test_damaged_stores(tmp_path: Path, new_store: StoreFactory) -> None:
    with pytest.raises(LabelError, match="no label store"):
        LabelStore.open(tmp_path / "absent.zarr")
    s = new_store(8, 8)
    meta_file = s.path / "zarr.json"
    doc = json.loads(meta_file.read_text())
    doc["attributes"]["tessera"]["width"] = "wide"
    meta_file.write_text(json.dumps(doc))
    with pytest.raises(LabelError, match="'width'"):
        LabelStore.open(s.path)
    doc["attributes"]["tessera"]["width"] = 8
    doc["attributes"]["tessera"]["version"] = 99
    meta_file.write_text(json.dumps(doc))
    with pytest.raises(LabelError, match="version 99"):
        LabelStore.open(s.path)
    meta_file.write_text("{not json")
    with pytest.raises(LabelError, match="cannot open"):
        LabelStore.open(s.path)


def test_write_back_puts_edits_on_disk_before_flush(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    s.write("semantic", 8, 8, np.full((2, 2), 3, np.uint8))
    assert LabelStore.open(s.path, read_only=True).read("semantic", 9, 9, 1, 1)[0, 0] == 255
    assert s.write_back(10.0) == 0
    reader = LabelStore.open(s.path, read_only=True)
    assert reader.read("semantic", 8, 8, 2, 2).tolist() == [[3, 3], [3, 3]]
    assert reader.read("semantic", 4, 4, 1, 1, level=1)[0, 0] == 3


def test_damaged_chunk_file(new_store: StoreFactory) -> None:
    s = new_store(16, 16)
    s.write("semantic", 0, 0, np.zeros((4, 4), np.uint8))
    s.flush()
    chunk = s.path / "semantic" / "0" / "c" / "0" / "0"
    chunk.write_bytes(b"garbage")
    with pytest.raises(LabelError, match=r"semantic/0/c/0/0 cannot be read"):
        LabelStore.open(s.path).read("semantic", 0, 0, 2, 2)
