"""Export then import gives the same labels, for every lossless format."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from formats_cases import CLASSES, label_maps, ranked, same_instances
from hypothesis import HealthCheck, given, settings

from segcore.formats.base import ExportItem, ExportOptions
from segcore.formats.exporter import export
from segcore.formats.registry import import_labels, list_formats
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels

TRANSFORM = (0.5, 0.0, 500000.0, 0.0, -0.5, 4100000.0)
EXACT = [f.name for f in list_formats() if f.fidelity == "exact"]
CLASSES_ONLY = [f.name for f in list_formats() if f.fidelity == "classes" and f.kind != "volume"]
# formats that keep the instance ids themselves, not only the grouping
SAME_IDS = {"instance-png", "instance-tiff"}


def round_trip(fmt: str, classes: np.ndarray, instances: np.ndarray) -> tuple:
    labels = ArrayLabels(classes, CLASSES, instances)
    item = ExportItem("tile", labels, image_file="tile.png", crs="EPSG:32633", transform=TRANSFORM)
    h, w = classes.shape
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        run_to_end(export([item], fmt, out, options=ExportOptions(window=8)))
        imported = import_labels(fmt, out, width=w, height=h, transform=TRANSFORM, crs="EPSG:32633")
    assert len(imported.images) == 1
    return imported.classes, imported.images[0]


def test_every_format_is_classified() -> None:
    assert set(EXACT) == {
        "instance-png",
        "instance-tiff",
        "coco",
        "coco-panoptic",
        "voc",
        "cityscapes",
        "geojson",
        "gpkg",
    }
    assert set(CLASSES_ONLY) == {"png", "png16", "npy", "geotiff"}


@pytest.mark.parametrize("fmt", EXACT)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(maps=label_maps())
def test_lossless_round_trip(fmt: str, maps: tuple[np.ndarray, np.ndarray]) -> None:
    classes, instances = maps
    names, image = round_trip(fmt, classes, instances)
    assert [(c.id, c.name, c.thing) for c in names] == [(c.id, c.name, c.thing) for c in CLASSES]
    assert np.array_equal(image.classes, classes)
    if fmt in SAME_IDS:
        assert np.array_equal(image.instances, instances)
    else:
        assert same_instances(image.instances, instances)
    if fmt in {"coco", "coco-panoptic", "voc", "instance-png", "instance-tiff"}:
        # objects come back numbered in the order of their ids
        assert np.array_equal(ranked(image.instances), ranked(instances))


@pytest.mark.parametrize("fmt", CLASSES_ONLY)
@settings(max_examples=8, deadline=None)
@given(maps=label_maps())
def test_class_mask_round_trip(fmt: str, maps: tuple[np.ndarray, np.ndarray]) -> None:
    classes, instances = maps
    names, image = round_trip(fmt, classes, instances)
    assert [c.name for c in names] == [c.name for c in CLASSES]
    assert np.array_equal(image.classes, classes)
    assert not image.instances.any()


@pytest.mark.parametrize("fmt", ["labelme", "yolo", "coco-polygons"])
def test_outline_formats_keep_solid_shapes(fmt: str) -> None:
    classes = np.zeros((30, 40), np.uint8)
    instances = np.zeros((30, 40), np.uint32)
    classes[3:12, 4:20], instances[3:12, 4:20] = 2, 7  # a car
    classes[15:27, 22:35], instances[15:27, 22:35] = 3, 9  # a person
    classes[20:28, 2:10] = 1  # a pond
    names, image = round_trip(fmt, classes, instances)
    assert {c.name for c in names} >= {"ground", "water", "car", "person"}
    assert np.array_equal(image.classes, classes)
    assert same_instances(image.instances, instances)
