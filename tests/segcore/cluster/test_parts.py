"""Cutting a tile plan into parts and seams, a part's rows into chunk writes; a shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segcore.cluster.parts import Part, chunk_rows, owned, split_plan
from segcore.cluster.tasks import _Rows
from segcore.engine.merger import Band
from segcore.engine.tiling import plan_tiles
from segcore.errors import InferenceError


def test_parts_follow_plan_rows_and_seams_are_the_shared_chunk_rows() -> None:
    # 200 rows, tile 64, halo 8, stride 16: core rows 0-56, 56-104, 104-152, 152-200
    plan = plan_tiles(40, 200, tile=64, halo=8, stride=16)
    layout = split_plan(plan, chunk=50)
    assert [(p.y0, p.y1) for p in layout.parts] == [(0, 56), (56, 104), (104, 152), (152, 200)]
    # chunk rows 0-50 (part 0 whole), 50-100 (parts 0, 1), 100-150 (1, 2), 150-200 (2, 3)
    assert [(s.y0, s.y1, s.parts) for s in layout.seams] == [
        (50, 100, (0, 1)),
        (100, 150, (1, 2)),
        (150, 200, (2, 3)),
    ]
    assert sum(p.tiles for p in layout.parts) == plan.count


def test_rows_are_grouped_when_there_are_more_than_max_parts() -> None:
    plan = plan_tiles(40, 200, tile=64, halo=8, stride=16)
    layout = split_plan(plan, chunk=50, max_parts=2)
    assert [(p.rows, p.y0, p.y1) for p in layout.parts] == [((0, 2), 0, 104), ((2, 4), 104, 200)]
    assert [(s.y0, s.y1, s.parts) for s in layout.seams] == [(100, 150, (0, 1))]


def test_owned_chunk_rows() -> None:
    assert chunk_rows(56, 104, chunk=50, height=200) == [(50, 100), (100, 150)]
    assert owned(Part(0, (0, 1), 56, 104, 1, 1), chunk=50, height=200) == (100, 100)  # none
    assert owned(Part(0, (0, 1), 10, 200, 1, 1), chunk=50, height=200) == (50, 200)  # to the end
    assert owned(Part(0, (0, 1), 10, 190, 1, 1), chunk=64, height=190) == (64, 190)


def test_a_plan_with_gaps_is_refused() -> None:
    mask = np.zeros((200, 40), bool)
    mask[:40] = mask[160:] = True
    plan = plan_tiles(40, 200, tile=64, halo=8, stride=16, mask=mask)
    with pytest.raises(InferenceError, match="without gaps"):
        split_plan(plan, chunk=50)


class _Array:
    """Records the row ranges written (a zarr array stand-in)."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, int]] = []

    def __setitem__(self, rows: slice, value: np.ndarray) -> None:
        assert rows.stop - rows.start == len(value)
        self.writes.append((rows.start, rows.stop))


def test_a_part_writes_whole_chunk_rows_and_keeps_the_edges_as_pieces() -> None:
    array = _Array()
    part = Part(1, (1, 2), 56, 170, 1, 1)
    rows = _Rows(array, part, chunk=50, height=200)
    values = np.arange(56, 170, dtype=np.uint8)[:, None].repeat(3, axis=1)
    for y0, y1 in [(56, 90), (90, 130), (130, 170)]:  # merger bands of any height
        rows.add([Band(y0, values[y0 - 56 : y1 - 56])])
    pieces = rows.finish()
    assert array.writes == [(100, 150)]
    assert [(y, len(p)) for y, p in pieces] == [(56, 44), (150, 20)]
    assert pieces[1][1][0, 0] == 150


def test_a_shipped_model_file_loads_where_it_arrives(tmp_path: Path, model_file: Path) -> None:
    from segcore.cluster.ship import RunnerSpec, _build, shipment
    from segcore.models.files import read_meta

    ship = shipment(model_file, read_meta(model_file), onnx=None)
    runner = _build(ship, RunnerSpec("torch", False, "cpu"))  # from the bytes, not the path
    out = runner.run([np.zeros((64, 64, 3), np.float32)], logits=False, score="none")
    assert out[0].labels.shape == (64, 64)
    runner.close()
