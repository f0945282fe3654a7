"""Exports read window by window, write under temporary names, and cancel cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from formats_cases import CLASSES
from PIL import Image

from segcore.errors import FormatError
from segcore.formats.base import ExportItem, ExportOptions
from segcore.formats.exporter import export
from segcore.formats.png import PngWriter
from segcore.formats.registry import list_formats
from segcore.formats.staging import Staging
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.reader import Layer

TRANSFORM = (0.3, 0.0, 440720.0, 0.0, -0.3, 3751320.0)


class CountingLabels(ArrayLabels):
    """Records the largest window read."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.largest = 0

    def read(self, layer: Layer, x: int, y: int, w: int, h: int) -> np.ndarray:
        out = super().read(layer, x, y, w, h)
        self.largest = max(self.largest, out.size)
        return out


def sample_maps(h: int = 70, w: int = 90) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    classes = ((xx // 9 + yy // 7) % 2).astype(np.uint8)
    instances = np.zeros((h, w), np.uint32)
    for k, (y, x) in enumerate([(5, 5), (30, 40), (50, 70)], start=1):
        classes[y : y + 8, x : x + 10] = 2
        instances[y : y + 8, x : x + 10] = k
    return classes, instances


# formats whose memory follows the window (object formats also read each object's box)
STREAMED = [
    "png",
    "png16",
    "npy",
    "geotiff",
    "instance-png",
    "instance-tiff",
    "coco-panoptic",
    "voc",
    "cityscapes",
    "geojson",
    "gpkg",
]


@pytest.mark.parametrize("fmt", STREAMED)
def test_reads_stay_within_the_window(tmp_path: Path, fmt: str) -> None:
    labels = CountingLabels(*sample_maps()[:1], CLASSES, sample_maps()[1])
    item = ExportItem("t", labels, crs="EPSG:32611", transform=TRANSFORM)
    run_to_end(export([item], fmt, tmp_path / fmt, options=ExportOptions(window=16)))
    # strips hold window**2 pixels (full rows); GeoTIFF writes whole 256 blocks
    limit = 256 * 256 if fmt in {"geotiff", "instance-tiff"} else 16 * 16 + 90
    assert 0 < labels.largest <= limit


def test_geotiff_keeps_crs_and_transform_exactly(tmp_path: Path) -> None:
    classes, _ = sample_maps(300, 520)
    item = ExportItem("geo", ArrayLabels(classes, CLASSES), crs="EPSG:32611", transform=TRANSFORM)
    (path,) = [p for p in run_to_end(export([item], "geotiff", tmp_path)) if p.suffix == ".tif"]
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32611
        assert tuple(src.transform)[:6] == TRANSFORM
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.block_shapes == [(256, 256)]
        assert src.nodata == 255
        assert src.colormap(1)[2] == (200, 0, 0, 255)
        assert np.array_equal(src.read(1), classes)


def test_geotiff_keeps_a_real_images_georeferencing(tmp_path: Path, sample) -> None:  # type: ignore[no-untyped-def]
    with rasterio.open(sample("spacenet_image")) as src:
        crs, transform, w, h = src.crs, src.transform, src.width, src.height
    classes = np.zeros((h, w), np.uint8)
    item = ExportItem(
        "sn", ArrayLabels(classes, CLASSES), crs=crs.to_wkt(), transform=tuple(transform)[:6]
    )
    run_to_end(export([item], "geotiff", tmp_path))
    with rasterio.open(tmp_path / "sn.tif") as out:
        assert out.crs == crs and out.transform == transform


def test_bigtiff_only_when_large() -> None:
    from segcore.formats.geotiff import profile_for

    class Huge(ArrayLabels):
        width = height = 50_000  # type: ignore[assignment]

    small = ExportItem("s", ArrayLabels(np.zeros((4, 4), np.uint8), CLASSES))
    huge = ExportItem("h", Huge(np.zeros((4, 4), np.uint8), CLASSES))
    assert profile_for(small, "uint8")["BIGTIFF"] == "IF_SAFER"
    assert profile_for(huge, "uint8")["BIGTIFF"] == "YES"
    with pytest.raises(FormatError, match="cannot use CRS 'EPSG:999999'"):
        profile_for(ExportItem("c", small.labels, crs="EPSG:999999"), "uint8")


def test_indexed_png_embeds_the_class_palette(tmp_path: Path) -> None:
    classes, _ = sample_maps()
    run_to_end(export([ExportItem("p", ArrayLabels(classes, CLASSES))], "png", tmp_path))
    with Image.open(tmp_path / "p.png") as image:
        assert image.mode == "P"
        palette = image.getpalette()
        assert palette is not None and palette[6:9] == [200, 0, 0]
        assert np.array_equal(np.asarray(image), classes)


def test_cancel_leaves_nothing(tmp_path: Path) -> None:
    classes, instances = sample_maps()
    items = [ExportItem(f"img{i}", ArrayLabels(classes, CLASSES, instances)) for i in range(3)]
    job = export(items, "voc", tmp_path / "out", options=ExportOptions(window=16))
    for _ in range(40):  # past the first image's segment scan, into its PNGs
        next(job)
    assert any((tmp_path / "out").rglob("*.part*"))
    job.close()
    assert not (tmp_path / "out").exists()


def test_failure_midway_leaves_nothing_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    classes, instances = sample_maps()
    instances[0, 0] = 70000  # does not fit a 16-bit PNG
    classes[0, 0] = 2
    item = ExportItem("x", ArrayLabels(classes, CLASSES, instances))
    with pytest.raises(FormatError, match="instance-tiff"):
        run_to_end(export([item], "instance-png", out))
    assert [p.name for p in out.rglob("*")] == ["mine.txt"]


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    classes, instances = sample_maps()
    items = [ExportItem(f"i{i}", ArrayLabels(classes, CLASSES, instances)) for i in range(2)]
    steps = list(export(items, "coco", tmp_path, options=ExportOptions(window=32)))
    assert steps[-1].done == steps[-1].total == 2 * 70 * 90
    assert all(a.done <= b.done for a, b in zip(steps, steps[1:], strict=False))


def test_images_with_different_classes_are_refused(tmp_path: Path) -> None:
    classes, _ = sample_maps()
    a = ExportItem("a", ArrayLabels(classes, CLASSES))
    b = ExportItem("b", ArrayLabels(classes, CLASSES[:3]))
    with pytest.raises(FormatError, match="b: its classes differ"):
        run_to_end(export([a, b], "png", tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    classes, _ = sample_maps()
    items = [ExportItem("same", ArrayLabels(classes, CLASSES)) for _ in range(2)]
    with pytest.raises(FormatError, match="unique names"):
        run_to_end(export(items, "png", tmp_path / "o"))


def test_unknown_format_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="choose one of: .*coco-panoptic"):
        run_to_end(export([], "tiff9", tmp_path))
    assert len(list_formats()) == 17  # 15 + nifti and dicom-seg (label volumes)


def test_png_writer_checks_rows(tmp_path: Path) -> None:
    writer = PngWriter(tmp_path / "a.png", 4, 3, mode="L")
    with pytest.raises(FormatError, match="does not fit"):
        writer.write_rows(np.zeros((2, 5), np.uint8))
    writer.write_rows(np.zeros((2, 4), np.uint8))
    with pytest.raises(FormatError, match="1 rows not written"):
        writer.close()


def test_staging_commit_renames(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "new" / "deep")
    temp = staging.path("sub/a.json")
    assert temp.name.startswith(".a.") and temp.name.endswith(".part.json")
    temp.write_text("{}")
    assert staging.commit() == [tmp_path / "new" / "deep" / "sub" / "a.json"]
    assert not list((tmp_path / "new").rglob("*.part*"))
