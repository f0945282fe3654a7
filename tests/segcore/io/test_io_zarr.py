"""Zarr arrays and OME-NGFF multiscale groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from io_helpers import ramp

from segcore.errors import SourceError
from segcore.io import open_image


def test_plain_array_with_bands_last(tmp_path: Path) -> None:
    pixels = ramp(30, 40, 3)
    zarr.create_array(tmp_path / "rgb.zarr", data=pixels, chunks=(16, 16, 3))
    src = open_image(tmp_path / "rgb.zarr")
    assert (src.width, src.height, src.band_count, src.depth) == (40, 30, 3, 1)
    np.testing.assert_array_equal(src.read_region(0, 5, 6, 20, 10), pixels[6:16, 5:25])


def test_named_dimensions_pick_bands_and_planes(tmp_path: Path) -> None:
    data = ramp(2 * 5 * 6 * 7, 1, 1, "uint16").reshape(2, 5, 6, 7)  # t, c, y, x
    names = ("t", "c", "y", "x")
    zarr.create_array(tmp_path / "named.zarr", data=data, chunks=data.shape, dimension_names=names)
    src = open_image(tmp_path / "named.zarr")
    assert (src.width, src.height, src.band_count, src.depth) == (7, 6, 5, 2)
    np.testing.assert_array_equal(src.read_region(0, 0, 0, 7, 6, z=1), np.moveaxis(data[1], 0, -1))


def test_ome_multiscales_group_levels(tmp_path: Path) -> None:
    full = ramp(64, 96, 1, "uint16")[..., 0]
    group = zarr.open_group(tmp_path / "ome.zarr", mode="w")
    group.create_array("0", data=full, chunks=(32, 32))
    group.create_array("1", data=full[::2, ::2], chunks=(32, 32))
    group.attrs["multiscales"] = [
        {"axes": [{"name": "y"}, {"name": "x"}], "datasets": [{"path": "0"}, {"path": "1"}]}
    ]
    src = open_image(tmp_path / "ome.zarr")
    assert src.level_downsamples == (1.0, 2.0)
    np.testing.assert_array_equal(src.read_region(1, 0, 0, 48, 32)[..., 0], full[::2, ::2])


def test_group_without_multiscales_names_its_arrays(tmp_path: Path) -> None:
    group = zarr.open_group(tmp_path / "g.zarr", mode="w")
    group.create_array("a", shape=(4, 4), dtype="uint8")
    group.create_array("b", shape=(4, 4), dtype="uint8")
    with pytest.raises(SourceError, match="g.zarr: zarr group has no 'multiscales'.*a, b"):
        open_image(tmp_path / "g.zarr")


def test_bool_zarr_is_refused(tmp_path: Path) -> None:
    zarr.create_array(tmp_path / "mask.zarr", data=np.zeros((4, 4), bool))
    with pytest.raises(SourceError, match="mask.zarr: 1-bit/bool pixels"):
        open_image(tmp_path / "mask.zarr")
