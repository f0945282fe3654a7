"""COCO and COCO panoptic files are what pycocotools and the panoptic spec expect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from formats_cases import CLASSES
from pycocotools import mask as mask_util
from pycocotools.coco import COCO

from segcore.errors import FormatError
from segcore.formats.base import ExportItem
from segcore.formats.coco import read_coco
from segcore.formats.exporter import export
from segcore.formats.panoptic import read_panoptic, rgb_to_id
from segcore.formats.png import read_png
from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels


def scene() -> tuple[np.ndarray, np.ndarray]:
    classes = np.zeros((20, 30), np.uint8)
    instances = np.zeros((20, 30), np.uint32)
    classes[2:8, 3:10], instances[2:8, 3:10] = 2, 40  # car #40
    classes[10:18, 12:20], instances[10:18, 12:20] = 3, 7  # person #7
    classes[0:4, 24:30] = 2  # a crowd of cars (no instance)
    classes[15:20, 0:5] = 255  # unlabelled
    return classes, instances


def write(tmp_path: Path, fmt: str) -> Path:
    classes, instances = scene()
    item = ExportItem("street", ArrayLabels(classes, CLASSES, instances), image_file="street.jpg")
    out = tmp_path / fmt
    run_to_end(export([item], fmt, out))
    return out


@pytest.mark.parametrize("fmt", ["coco", "coco-polygons"])
def test_coco_loads_in_pycocotools(tmp_path: Path, fmt: str) -> None:
    coco = COCO(str(write(tmp_path, fmt) / "annotations.json"))
    assert coco.getImgIds() == [1]
    assert coco.imgs[1] == {"id": 1, "file_name": "street.jpg", "width": 30, "height": 20}
    cats = {c["name"]: c for c in coco.loadCats(coco.getCatIds())}
    assert cats["car"]["id"] == 3 and cats["car"]["isthing"] == 1
    assert cats["ground"]["isthing"] == 0
    classes, instances = scene()
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    # car #40, person #7 (objects in id order: 7 first), ground region, crowd of cars
    objects = [a for a in anns if not a["iscrowd"] and cats["car"]["id"] <= a["category_id"]]
    assert [a["bbox"] for a in objects] == [[12, 10, 8, 8], [3, 2, 7, 6]]
    assert [a["area"] for a in objects] == [64, 42]
    crowd = [a for a in anns if a["iscrowd"]]
    assert len(crowd) == 1 and crowd[0]["category_id"] == 3
    assert np.array_equal(coco.annToMask(crowd[0]), (classes == 2) & (instances == 0))
    assert isinstance(objects[0]["segmentation"], list if fmt == "coco-polygons" else dict)
    for a in objects:  # pixel-edge polygons rasterise back exactly, like RLE
        want = instances == (7 if a["category_id"] == 4 else 40)
        assert np.array_equal(coco.annToMask(a).astype(bool), want)


def test_panoptic_png_and_segments(tmp_path: Path) -> None:
    out = write(tmp_path, "coco-panoptic")
    data = json.loads((out / "panoptic.json").read_text())
    assert {c["name"]: c["isthing"] for c in data["categories"]} == {
        "ground": 0,
        "water": 0,
        "car": 1,
        "person": 1,
    }
    ann = data["annotations"][0]
    assert ann["file_name"] == "street.png" and ann["image_id"] == 1
    pixels, mode = read_png(out / "panoptic" / "street.png")
    assert mode == "RGB"
    ids = rgb_to_id(pixels)
    classes, instances = scene()
    assert (ids[classes == 255] == 0).all()  # void
    for seg in ann["segments_info"]:
        mask = ids == seg["id"]
        assert seg["area"] == mask.sum()
        ys, xs = np.nonzero(mask)
        assert seg["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert (classes[mask] == seg["category_id"] - 1).all()
    crowd = [s for s in ann["segments_info"] if s["iscrowd"]]
    assert len(crowd) == 1 and crowd[0]["category_id"] == 3


def test_rgb_id_encoding() -> None:
    from segcore.formats.panoptic import id_to_rgb

    ids = np.array([[1, 256, 65536 + 2 * 256 + 3]])
    assert id_to_rgb(ids).tolist() == [[[1, 0, 0], [0, 1, 0], [3, 2, 1]]]
    assert np.array_equal(rgb_to_id(id_to_rgb(ids)), ids)


def coco_doc() -> dict:
    rle = mask_util.encode(np.asfortranarray(np.pad(np.ones((2, 2), np.uint8), ((0, 2), (0, 2)))))
    rle["counts"] = rle["counts"].decode()
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "segmentation": rle}],
    }


def test_foreign_coco_imports(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco_doc()))
    imported = read_coco(path)
    assert [(c.id, c.name, c.thing) for c in imported.classes] == [(0, "cell", True)]
    image = imported.images[0]
    assert image.name == "a"
    assert image.classes[:2, :2].tolist() == [[0, 0], [0, 0]] and image.classes[3, 3] == 255
    assert image.instances[:2, :2].tolist() == [[1, 1], [1, 1]]


def test_every_problem_is_reported(tmp_path: Path) -> None:
    doc = coco_doc()
    base = doc["annotations"][0]
    big = mask_util.encode(np.asfortranarray(np.ones((5, 5), np.uint8)))
    big["counts"] = big["counts"].decode()
    doc["annotations"] += [
        {**base, "id": 6},  # overlaps 5 entirely
        {**base, "id": 7, "category_id": 9},  # unknown category
        {**base, "id": 8, "image_id": 3},  # unknown image
        {**base, "id": 9, "segmentation": big},  # 5 x 5 mask on a 4 x 4 image
        {"id": 10},  # malformed
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError) as info:
        read_coco(path, images_dir=tmp_path)
    problems = info.value.problems
    assert len(problems) == 6
    text = "\n".join(problems)
    assert "annotation 6: overlaps annotation 5 by 4 pixels in a.jpg" in text
    assert "annotation 7: unknown category id 9" in text
    assert "annotation 8: refers to image id 3" in text
    assert (
        "annotation 9: bad segmentation for a.jpg: mask size 5 x 5 differs from image 4 x 4" in text
    )
    assert "annotation 10: needs integer 'image_id' and 'category_id'" in text
    assert f"{tmp_path / 'a.jpg'}: image listed in the dataset is missing" in text


def test_malformed_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"images": [\n  {"id": 1,,}\n]}')
    with pytest.raises(FormatError, match=r"broken.json: malformed JSON at line 2"):
        read_coco(path)


def test_panoptic_problems(tmp_path: Path) -> None:
    out = write(tmp_path, "coco-panoptic")
    data = json.loads((out / "panoptic.json").read_text())
    data["annotations"][0]["segments_info"][0]["category_id"] = 77
    del data["annotations"][0]["segments_info"][1]
    data["annotations"].append({"image_id": 1, "file_name": "gone.png", "segments_info": []})
    (out / "panoptic.json").write_text(json.dumps(data))
    with pytest.raises(FormatError) as info:
        read_panoptic(out / "panoptic.json")
    text = "\n".join(info.value.problems)
    assert "unknown category id 77" in text
    assert "are in the PNG but not in segments_info" in text
    assert "gone.png: cannot read" in text


def test_real_nuclei_mask_round_trips_through_pycocotools(tmp_path: Path, sample) -> None:  # type: ignore[no-untyped-def]
    import tifffile

    from segcore.labels.schema import make_classes

    nuclei = tifffile.imread(sample("nuclei_mask")).astype(np.uint32)
    classes = (nuclei > 0).astype(np.uint8)
    names = make_classes(["background", "nucleus"], {"nucleus"})
    item = ExportItem("nuclei", ArrayLabels(classes, names, nuclei), image_file="img2d.tif")
    run_to_end(export([item], "coco", tmp_path))
    coco = COCO(str(tmp_path / "annotations.json"))
    objects = coco.loadAnns(coco.getAnnIds(catIds=[2]))
    ids = np.unique(nuclei[nuclei > 0])
    assert len(objects) == len(ids) > 50
    for ann, k in zip(objects, ids, strict=True):
        assert np.array_equal(coco.annToMask(ann).astype(bool), nuclei == k)
    back = read_coco(tmp_path / "annotations.json").images[0]
    assert np.array_equal(back.classes, classes)
    assert np.array_equal(back.instances > 0, nuclei > 0)
