"""``tessera eval``, ``tessera export`` and ``tessera import`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from formats_cases import CLASSES
from PIL import Image

from segcore.cli import main
from segcore.project import Project


def save_png(path: Path, values: np.ndarray) -> Path:
    Image.fromarray(values).save(path)
    return path


def test_eval_prints_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt = np.array([[0, 0, 1], [2, 1, 255]], np.uint8)
    pred = np.array([[0, 1, 1], [2, 2, 255]], np.uint8)
    np.save(tmp_path / "gt.npy", gt)
    save_png(tmp_path / "pred.png", pred)
    code = main(
        [
            "eval",
            "--pred",
            str(tmp_path / "pred.png"),
            "--gt",
            str(tmp_path / "gt.npy"),
            "--classes",
            "sky,road,car",
            "--json",
            str(tmp_path / "s.json"),
            "--window",
            "2",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "road                 0.3333 0.5000 0.5000 0.5000            2" in out
    assert "mIoU 0.4444" in out and "pixel accuracy 0.6000" in out
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["per_class"][1]["class"] == "road"
    assert data["miou"] == pytest.approx(4 / 9)


def test_eval_with_instances_adds_pq_and_ap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cls = np.zeros((20, 20), np.uint8)
    inst = np.zeros((20, 20), np.uint16)
    cls[2:8, 2:8], inst[2:8, 2:8] = 1, 1
    cls[10:16, 10:18], inst[10:16, 10:18] = 1, 2
    for name, array in [("c", cls), ("i", inst)]:
        save_png(tmp_path / f"{name}.png", array)
    code = main(
        [
            "eval",
            "--pred",
            str(tmp_path / "c.png"),
            "--gt",
            str(tmp_path / "c.png"),
            "--pred-instances",
            str(tmp_path / "i.png"),
            "--gt-instances",
            str(tmp_path / "i.png"),
            "--things",
            "1",
            "--json",
            str(tmp_path / "s.json"),
        ]
    )
    assert code == 0
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["panoptic"]["pq"] == 1.0 and data["panoptic"]["things"]["classes"] == 1
    assert data["ap"]["AP"] == pytest.approx(1.0)
    assert "PQ 1.0000" in capsys.readouterr().out


def test_eval_size_mismatch_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "a.npy", np.zeros((3, 3), np.uint8))
    np.save(tmp_path / "b.npy", np.zeros((4, 3), np.uint8))
    assert main(["eval", "--pred", str(tmp_path / "a.npy"), "--gt", str(tmp_path / "b.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is 3 x 3 but" in err


def test_export_mask_with_georeferenced_image(tmp_path: Path, sample) -> None:  # type: ignore[no-untyped-def]
    image = sample("spacenet_image")
    with rasterio.open(image) as src:
        w, h, crs, transform = src.width, src.height, src.crs, src.transform
    mask = np.zeros((h, w), np.uint8)
    mask[100:200, 300:400] = 1
    np.save(tmp_path / "mask.npy", mask)
    code = main(
        [
            "export",
            "--mask",
            str(tmp_path / "mask.npy"),
            "--image",
            str(image),
            "--classes",
            "ground,building",
            "--format",
            "gpkg",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0
    import pyogrio

    info = pyogrio.read_info(tmp_path / "o" / f"{Path(image).stem}.gpkg")
    assert info["features"] == 2
    assert rasterio.crs.CRS.from_user_input(info["crs"]) == crs
    bounds = pyogrio.read_bounds(tmp_path / "o" / f"{Path(image).stem}.gpkg")[1]
    x0 = transform.c + 300 * transform.a
    assert pytest.approx(x0) in bounds[0].tolist()


def test_export_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--list"]) == 0
    assert "coco-panoptic" in capsys.readouterr().out


def test_import_into_project_and_export_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = Project.create(tmp_path / "p", classes=CLASSES)
    save_png(tmp_path / "img.png", np.zeros((8, 10, 3), np.uint8))
    project.add_image(tmp_path / "img.png")
    project.close()
    (tmp_path / "ds").mkdir()
    values = np.full((8, 10), 255, np.uint8)
    values[:4] = 1
    save_png(tmp_path / "ds" / "img.png", values)
    (tmp_path / "ds" / "classes.json").write_text(
        json.dumps({"classes": [{"id": 1, "name": "lake", "color": [0, 0, 255], "thing": False}]})
    )
    args = ["import", str(tmp_path / "ds"), "--format", "png", "--project", str(tmp_path / "p")]
    assert main(args) == 2
    assert "class 'lake': not in the project" in capsys.readouterr().err
    assert main([*args, "--map", "lake=water"]) == 0
    assert "img -> img" in capsys.readouterr().out
    assert (
        main(["export", "--project", str(tmp_path / "p"), "-f", "npy", "-o", str(tmp_path / "e")])
        == 0
    )
    assert np.array_equal(np.load(tmp_path / "e" / "img.npy"), values)


def test_import_check_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("[")
    assert main(["import", str(tmp_path / "bad.json"), "--format", "coco"]) == 2
    assert "malformed JSON" in capsys.readouterr().err
