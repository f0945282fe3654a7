"""What a store can tell about its own losses: erased chunks keep their files, missing
ones are named, damaged bytes are refused, repairs leave the rest alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segcore.errors import LabelError
from segcore.labels import storecheck
from segcore.labels.store import LabelStore


def _store(tmp_path: Path) -> LabelStore:
    s = LabelStore.create(tmp_path / "s.zarr", width=40, height=40, chunk=16)
    s.write("semantic", 0, 0, np.full((4, 4), 1, np.uint8))  # chunk (0, 0)
    s.write("semantic", 20, 20, np.full((4, 4), 2, np.uint8))  # chunk (1, 1)
    s.write("instance", 20, 20, np.full((4, 4), 7, np.uint32))
    s.flush()
    return s


def _file(s: LabelStore, layer: str, cy: int, cx: int) -> Path:
    return s.path / layer / "0" / "c" / str(cy) / str(cx)


def test_an_erased_chunk_keeps_its_file_so_a_missing_one_is_a_loss(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.write("semantic", 20, 20, np.full((4, 4), 255, np.uint8))  # erased to the fill value
    s.close()
    assert _file(s, "semantic", 1, 1).is_file()  # zarr would delete it by default
    assert storecheck.inspect(s.path, had_labels=True) is None
    _file(s, "semantic", 0, 0).unlink()
    found = storecheck.inspect(s.path, had_labels=True)
    assert found is not None and found.kind == "chunks missing" and found.chunks == ((0, 0),)
    assert "16 labelled pixels" in found.detail and "semantic/0/c/0/0" in found.detail


def test_a_missing_store_or_counts_is_a_loss_only_if_labels_were_saved(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.close()
    assert storecheck.inspect(tmp_path / "none.zarr", had_labels=False) is None
    found = storecheck.inspect(tmp_path / "none.zarr", had_labels=True)
    assert found is not None and found.kind == "store missing"
    (s.path / "labelled_per_chunk" / "c" / "0" / "0").unlink()
    assert storecheck.inspect(s.path, had_labels=False) is None
    found = storecheck.inspect(s.path, had_labels=True)
    assert found is not None and found.kind == "counts missing"
    fixed = LabelStore.open(s.path)
    fixed.recount()
    assert fixed.labelled_pixels == 32
    fixed.close()
    assert storecheck.inspect(s.path, had_labels=True) is None


def test_the_fast_count_reader_agrees_with_zarr(tmp_path: Path) -> None:
    import zarr

    s = _store(tmp_path)
    s.close()
    direct = storecheck.read_counts(s.path)
    via_zarr = zarr.open_array(str(s.path / "labelled_per_chunk"), mode="r")[...]
    assert direct is not None and (direct == via_zarr).all() and direct.sum() == 32


def test_a_flipped_byte_in_a_chunk_is_refused_and_found(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.close()
    chunk = _file(s, "instance", 1, 1)
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x01
    chunk.write_bytes(bytes(data))
    again = LabelStore.open(s.path)
    with pytest.raises(LabelError, match=r"instance/0/c/1/1 cannot be read"):
        again.read("instance", 20, 20, 1, 1)
    assert [(layer, *key) for layer, key, _ in storecheck.unreadable_chunks(s.path)] == [
        ("instance", 1, 1)
    ]
    again.forget_chunks([(1, 1)], layers=("instance",))  # accept: ids there are gone
    assert again.read("semantic", 20, 20, 1, 1)[0, 0] == 2  # the classes are kept
    again.close()
    assert storecheck.unreadable_chunks(s.path) == []


def test_a_missing_array_description_is_a_damaged_store(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.close()
    (s.path / "instance" / "0" / "zarr.json").unlink()
    found = storecheck.inspect(s.path, had_labels=False)
    assert found is not None and found.kind == "store unreadable"
