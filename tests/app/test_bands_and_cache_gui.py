"""File > Open Bands... and Edit > Cache... in the real window (offscreen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtWidgets import QFileDialog

from app.open_bands import default_output
from app.window import MainWindow
from segcore.io import pyramid_cache
from segcore.io.pyramid import LazyPyramid


@pytest.fixture
def window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _band(path: Path, value: int, **options: object) -> Path:
    import rasterio
    from affine import Affine

    pixels = np.full((1, 20, 30), value, np.uint16)
    pixels[0, 0, 0] = 0
    profile = {"driver": "GTiff", "width": 30, "height": 20, "count": 1, "dtype": "uint16"}
    profile |= {"crs": "EPSG:32633", "transform": Affine(30, 0, 300000, 0, -30, 5000000)}
    profile |= {"nodata": 0, **options}
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(pixels)
    return path


def test_default_output_drops_the_band_suffix(tmp_path: Path) -> None:
    paths = [tmp_path / "LC09_SR_B4.TIF", tmp_path / "LC09_SR_B3.TIF"]
    assert default_output(paths) == tmp_path / "LC09_SR_stack.vrt"
    assert default_output([tmp_path / "red.tif", tmp_path / "nir.tif"]).name == "bands_stack.vrt"


def test_open_bands_stacks_and_opens_the_vrt(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    names = [str(_band(tmp_path / f"S2_B0{i}.tif", 100 * i)) for i in (4, 3, 2)]
    out = tmp_path / "S2_stack.vrt"
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (names, ""))

    def save_as(parent, title, start, filter_):  # type: ignore[no-untyped-def]
        asked.append(start)
        return str(out), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    action = window.actions_by_name["open_bands"]
    file_menu = window.menus["file"].actions()
    assert file_menu.index(action) == file_menu.index(window.actions_by_name["open"]) + 1
    action.trigger()
    qtbot.waitUntil(lambda: window.session.document is not None, timeout=15_000)
    doc = window.session.document
    assert asked == [str(tmp_path / "S2_stack.vrt")]
    assert doc.path == out and out.is_file()
    assert doc.source.band_names == ("S2_B04", "S2_B03", "S2_B02")
    assert doc.source.nodata == 0
    np.testing.assert_array_equal(doc.source.read_region(0, 1, 1, 1, 1)[0, 0], [400, 300, 200])


def test_open_bands_refusal_is_one_dialog(qtbot, window, tmp_path, dialogs) -> None:  # type: ignore[no-untyped-def]
    a = _band(tmp_path / "a.tif", 5)
    b = _band(tmp_path / "b.tif", 6, crs="EPSG:32634")
    window.bands.stack([a, b], tmp_path / "ab.vrt")
    qtbot.waitUntil(lambda: not window.bands.job.busy, timeout=15_000)
    assert len(dialogs) == 1 and "b.tif" in dialogs[0] and "CRS EPSG:32634" in dialogs[0]
    assert not (tmp_path / "ab.vrt").exists() and window.session.document is None


def test_cache_dialog_shows_size_saves_limit_and_clears(
    qtbot, window, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from segcore.io import open_image

    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))  # this test's own cache
    monkeypatch.delenv("TESSERA_PYRAMIDS_CACHE_LIMIT", raising=False)

    path = tmp_path / "flat.tif"
    tifffile.imwrite(path, np.arange(1030 * 1100, dtype=np.uint32).reshape(1030, 1100) % 251)
    closed = open_image(path)
    assert isinstance(closed, LazyPyramid)
    closed.read_region(2, 0, 0, 275, 258)
    closed.close()
    size = pyramid_cache.total_bytes()
    assert size > 0
    window.actions_by_name["cache"].trigger()
    dialog = window.cache.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.usage is not None, timeout=15_000)
    assert dialog.usage.pyramids == 1 and dialog.usage.pyramid_bytes == size
    assert "1 image(s)" in dialog.pyramids.text() and "of 8.0 GB" in dialog.pyramids.text()

    dialog.limit.setValue(2.5)
    dialog.limit.editingFinished.emit()
    from segcore.cache import cache_limit

    assert cache_limit("pyramids")[0] == int(2.5 * (1 << 30))

    dialog.usage = None
    dialog.clear()
    qtbot.waitUntil(lambda: dialog.usage is not None, timeout=15_000)
    assert dialog.usage.pyramids == 0 and "Freed" in dialog.note.text()
    assert pyramid_cache.entries() == []
