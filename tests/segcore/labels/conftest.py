"""Helpers for label tests: tiny stores whose right answers can be worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from label_helpers import StoreFactory

from segcore.labels.store import LabelStore


@pytest.fixture
def new_store(tmp_path: Path) -> StoreFactory:
    """``new_store(w=16, h=16, chunk=8, overview_limit=4)`` -> an empty LabelStore."""
    count = [0]

    def make(w: int = 16, h: int = 16, *, chunk: int = 8, overview_limit: int = 4) -> LabelStore:
        count[0] += 1
        return LabelStore.create(
            tmp_path / f"s{count[0]}.zarr",
            width=w,
            height=h,
            chunk=chunk,
            overview_limit=overview_limit,
        )

    return make
