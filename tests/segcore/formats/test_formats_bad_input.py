"""Every importer reports bad datasets as one FormatError listing each file and reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from formats_cases import CLASSES
from PIL import Image

from segcore.errors import FormatError
from segcore.formats.base import ExportItem
from segcore.formats.exporter import export
from segcore.formats.registry import import_labels
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels


def exported(tmp_path: Path, fmt: str, **item: object) -> Path:
    classes = np.zeros((10, 12), np.uint8)
    instances = np.zeros((10, 12), np.uint32)
    classes[1:5, 1:5], instances[1:5, 1:5] = 2, 3
    classes[6:9, 6:11], instances[6:9, 6:11] = 3, 8
    out = tmp_path / fmt
    labels = ArrayLabels(classes, CLASSES, instances)
    run_to_end(export([ExportItem("img", labels, **item)], fmt, out))  # type: ignore[arg-type]
    return out


def problems_of(fmt: str, path: Path, **context: object) -> list[str]:
    with pytest.raises(FormatError) as info:
        import_labels(fmt, path, **context)
    assert "nothing was imported" in str(info.value)
    return info.value.problems


def test_voc_missing_images_and_sizes(tmp_path: Path) -> None:
    out = exported(tmp_path, "voc")
    (out / "ImageSets/Segmentation/default.txt").write_text("img\nlost\n")
    Image.fromarray(np.zeros((3, 3), np.uint8), mode="L").save(out / "SegmentationObject/img.png")
    (out / "JPEGImages").mkdir()
    problems = problems_of("voc", out)
    assert problems == [
        f"{out}/SegmentationClass/lost.png: listed in the image set but missing",
        f"{out}/JPEGImages/img.jpg: image missing for this mask",
        f"{out}/SegmentationObject/img.png: size (3, 3) differs from img.png",
    ]


def test_cityscapes_inconsistent_ids(tmp_path: Path) -> None:
    out = exported(tmp_path, "cityscapes")
    values = np.zeros((10, 12), np.uint16)
    values[0, 0] = 3001  # says class 3, the label PNG says 0
    Image.fromarray(values).save(out / "img_gtFine_instanceIds.png")
    assert problems_of("cityscapes", out) == [
        f"{out}/img_gtFine_instanceIds.png: instance ids disagree with the class PNG"
    ]


def test_cityscapes_refuses_objects_of_class_zero(tmp_path: Path) -> None:
    classes = np.zeros((4, 4), np.uint8)
    instances = np.ones((4, 4), np.uint32)
    item = ExportItem("x", ArrayLabels(classes, CLASSES, instances))
    with pytest.raises(FormatError, match="class ids 1..65 only, not 0"):
        run_to_end(export([item], "cityscapes", tmp_path / "c"))


def test_labelme_unknown_class_bad_shape_overlap(tmp_path: Path) -> None:
    out = exported(tmp_path, "labelme")
    doc = json.loads((out / "img.json").read_text())
    doc["shapes"].append(
        {"label": "dragon", "points": [[0, 0], [3, 0], [3, 3]], "shape_type": "polygon"}
    )
    doc["shapes"].append({"label": "car", "points": [[0, 0]], "shape_type": "polygon"})
    doc["shapes"].append({"label": "person", "points": [[1, 1], [4, 1], [4, 4]], "group_id": 99})
    (out / "img.json").write_text(json.dumps(doc))
    (out / "broken.json").write_text("{")
    problems = problems_of("labelme", out)
    n = len(doc["shapes"])
    assert problems == [
        f"{out}/broken.json: malformed JSON at line 1 column 2: "
        "Expecting property name enclosed in double quotes",
        f"{out}/img.json shape #{n - 3}: unknown class 'dragon'; not in classes.json",
        f"{out}/img.json shape #{n - 2}: bad shape: "
        "shape type 'polygon' with 1 points is not supported",
        f"{out}/img.json shape #{n - 1}: object 'person' group 99 overlaps another object",
    ]


def test_yolo_missing_image_and_bad_lines(tmp_path: Path) -> None:
    out = exported(tmp_path, "yolo")
    (out / "images").mkdir()
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(out / "images/img.png")
    with open(out / "labels/img.txt", "a") as f:
        f.write("9 0.1 0.1 0.2 0.2 0.3 0.1\n2 0.1 0.1 1.5 0.2 0.3 0.3\n2 0.1\n")
    (out / "labels/other.txt").write_text("2 0.1 0.1 0.2 0.2 0.3 0.1\n")
    problems = problems_of("yolo", out)
    lines = (out / "labels/img.txt").read_text().splitlines()
    n = len(lines)
    assert problems == [
        f"{out}/labels/img.txt:{n - 2}: unknown class index 9",
        f"{out}/labels/img.txt:{n - 1}: bad line: coordinates must be normalised to 0..1",
        f"{out}/labels/img.txt:{n}: bad line: needs at least 3 x y pairs",
        f"{out}/images/other: image missing: YOLO labels need the image size",
    ]


def test_vector_in_another_crs(tmp_path: Path) -> None:
    out = exported(tmp_path, "geojson", crs="EPSG:32633", transform=(1.0, 0, 0, 0, -1.0, 10.0))
    problems = problems_of("geojson", out / "img.geojson", width=12, height=10, crs="EPSG:4326")
    assert len(problems) == 1 and "differs from the image's EPSG:4326" in problems[0]


def test_vector_needs_a_grid(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="needs width, height"):
        import_labels("gpkg", tmp_path)


def test_masks_with_bad_values(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.full((3, 3), 300, np.int32))
    np.save(tmp_path / "b.npy", np.zeros((3, 3, 2), np.uint8))
    np.save(tmp_path / "c.npy", np.full((3, 3), 7, np.uint8))
    (tmp_path / "classes.json").write_text(json.dumps({"classes": [c.to_json() for c in CLASSES]}))
    assert problems_of("npy", tmp_path) == [
        f"{tmp_path}/a.npy: class ids must be 0..255, found 300..300",
        f"{tmp_path}/b.npy: expected a 2-D integer mask, got uint8 (3, 3, 2)",
        f"{tmp_path}/c.npy: unknown class id(s) [7]; not in the class list",
    ]


def test_instance_rasters_without_partner(tmp_path: Path) -> None:
    out = exported(tmp_path, "instance-png")
    Image.fromarray(np.zeros((10, 12), np.uint8), mode="L").save(out / "classes/extra.png")
    (out / "instances/img.png").rename(out / "instances/other.png")
    problems = problems_of("instance-png", out)
    assert problems == [
        f"{out}/classes/extra.png: no instance map with the same name in instances/",
        f"{out}/classes/img.png: no instance map with the same name in instances/",
        f"{out}/instances/other.png: no class map classes/other.png for this instance map",
    ]


def test_corrupt_png(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    problems = problems_of("png", tmp_path)
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path}/x.png: cannot read")
