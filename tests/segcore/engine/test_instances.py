"""Instance inference: tiled objects equal a whole-image pass; files; refusals."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from instance_helpers import disc_scene, match, pass_through

from segcore.engine import InferOptions, infer
from segcore.engine.instances import InstanceOutputs, infer_instances
from segcore.errors import InferenceError
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end

WIDTH, HEIGHT = 300, 260


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Touching discs on a jittered 19 px grid: many lie across tile corners."""
    rng = np.random.default_rng(seed)
    centres = [
        (x + int(rng.integers(-3, 4)), y + int(rng.integers(-3, 4)), int(rng.integers(6, 11)))
        for x in range(10, WIDTH, 19)
        for y in range(10, HEIGHT, 19)
    ]
    return disc_scene(WIDTH, HEIGHT, centres)


def _run(image: np.ndarray, tile: int, **kw: object):  # type: ignore[no-untyped-def]
    opts = InferOptions(device="cpu", backend="torch", tile=tile, **kw)  # type: ignore[arg-type]
    return run_to_end(infer_instances(ArraySource(image), pass_through(), options=opts))


def test_small_tiles_give_the_objects_of_one_whole_image_pass() -> None:
    image, truth = _scene()
    whole, tiled = _run(image, 512), _run(image, 64)
    assert whole.tiles == 1 and tiled.tiles > 100  # 64 px tiles, 24 px halo: many corners
    assert whole.objects == tiled.objects == int(truth.max())
    pairs = match(tiled.instances, whole.instances)
    assert len({j for j, _ in pairs.values()}) == whole.objects  # one to one
    assert min(iou for _, iou in pairs.values()) >= 0.99
    # ids are unique and consecutive over the image; the drawing is recovered
    assert sorted(np.unique(tiled.instances))[1:] == list(range(1, tiled.objects + 1))
    assert min(iou for _, iou in match(truth, tiled.instances).values()) > 0.9


def test_rows_describe_the_painted_objects() -> None:
    image, _ = _scene(1)
    result = _run(image, 96)
    ids = result.instances
    assert [r.id for r in result.rows] == list(range(1, result.objects + 1))
    for row in result.rows[:: max(1, result.objects // 20)]:
        ys, xs = np.nonzero(ids == row.id)
        assert row.area == len(ys)
        assert row.bbox == (xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1)
        assert row.class_id == 1 and 0.99 < row.score <= 1.0
    assert (result.classes == (ids > 0)).all()


def test_a_region_keeps_its_objects_within_it() -> None:
    image, _ = _scene(2)
    whole = _run(image, 512).instances
    part = _run(image, 64, roi=(50, 40, 150, 120))
    assert part.instances.shape == (120, 150)
    inside = whole[40:160, 50:200]
    pairs = match(part.instances, inside)
    assert min(iou for _, iou in pairs.values()) >= 0.99


def test_files_keep_the_georeference_and_list_every_object(tmp_path: Path) -> None:
    image, _ = _scene(3)
    src_path = tmp_path / "scene.tif"
    transform = Affine(0.5, 0, 500000.0, 0, -0.5, 4000000.0)
    with rasterio.open(src_path, "w", driver="GTiff", width=WIDTH, height=HEIGHT, count=3,
                       dtype="uint8", crs="EPSG:32616", transform=transform) as ds:  # fmt: skip
        ds.write(image.transpose(2, 0, 1))
    outs = InstanceOutputs(
        instances=tmp_path / "ids.tif",
        classes=tmp_path / "classes.tif",
        table=tmp_path / "objects.csv",
        polygons=tmp_path / "objects.gpkg",
    )
    opts = InferOptions(device="cpu", backend="torch", tile=96)
    result = run_to_end(infer_instances(src_path, pass_through(), outs, options=opts))
    assert set(result.outputs) == {"instances", "classes", "table", "polygons"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "classes.tif", "ids.tif", "objects.csv", "objects.gpkg", "scene.tif",
    ]  # fmt: skip
    with rasterio.open(outs.instances) as ds:
        assert ds.dtypes[0] == "uint32" and ds.crs.to_epsg() == 32616
        assert ds.transform == transform
        ids = ds.read(1)
    with rasterio.open(outs.classes) as ds:
        assert ds.dtypes[0] == "uint8" and (ds.read(1) == (ids > 0)).all()
    with open(outs.table, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == result.objects == int(ids.max())
    assert {r["class"] for r in rows} == {"disc"}
    first = rows[0]
    ys, xs = np.nonzero(ids == int(first["id"]))
    assert int(first["area"]) == len(ys) and int(first["x"]) == xs.min()

    from pyogrio.raw import read
    from shapely import from_wkb

    meta, _, geoms, fields = read(outs.polygons)
    assert len(geoms) == result.objects and "32616" in meta["crs"]
    k = list(fields[0]).index(int(first["id"]))
    poly = from_wkb(geoms[k])
    assert poly.area == pytest.approx(len(ys) * 0.25)  # 0.5 m pixels, holes and all
    assert poly.bounds[0] == pytest.approx(500000.0 + 0.5 * xs.min())


def test_a_failed_run_leaves_no_files(tmp_path: Path) -> None:
    image, _ = _scene(4)
    outs = InstanceOutputs(instances=tmp_path / "ids.tif", table=tmp_path / "objects.csv")
    job = infer_instances(ArraySource(image), pass_through(), outs,
                          options=InferOptions(device="cpu", tile=64))  # fmt: skip
    next(job)
    next(job)
    job.close()
    assert list(tmp_path.iterdir()) == []


def test_mismatched_requests_are_refused_before_any_work(tmp_path: Path) -> None:
    image, _ = _scene()
    src = ArraySource(image)
    with pytest.raises(InferenceError, match="instance model"):
        infer(src, pass_through(), options=InferOptions(device="cpu"))
    with pytest.raises(InferenceError, match="semantic output"):
        infer_instances(src, pass_through(), options=InferOptions(score="confidence"))
    with pytest.raises(InferenceError, match="32 bits"):
        infer_instances(src, pass_through(), InstanceOutputs(instances=tmp_path / "ids.png"))
    with pytest.raises(InferenceError, match="csv"):
        infer_instances(src, pass_through(), InstanceOutputs(table=tmp_path / "objects.txt"))
    from engine_helpers import tiny

    with pytest.raises(InferenceError, match="semantic model"):
        infer_instances(src, tiny(), options=InferOptions(device="cpu"))
    assert list(tmp_path.iterdir()) == []


def test_objects_larger_than_the_margin_are_reported() -> None:
    from segcore.engine.grouping import Grouping

    image, _ = _scene()
    opts = InferOptions(device="cpu", backend="torch", tile=64)
    result = run_to_end(
        infer_instances(
            ArraySource(image), pass_through(), options=opts, grouping=Grouping(max_object=8)
        )  # fmt: skip
    )
    assert any("reach the stitching margin of 8 px" in n for n in result.notices)
    assert not _run(image, 128).notices  # the model's own margin (24 px) holds every disc


def test_the_model_file_names_its_grouping() -> None:
    from dataclasses import replace

    from segcore.engine.instances import model_grouping

    model = pass_through(max_object=30)
    extra = {"instance": {"max_object": 30, "grouping": {"seed": 0.7, "min_area": 20}}}
    grouping = model_grouping(replace(model.meta, extra=extra))
    assert (grouping.seed, grouping.min_area, grouping.max_object) == (0.7, 20, 30)
    assert grouping.foreground == 0.5  # not saved: the default
