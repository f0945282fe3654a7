"""``tessera infer`` on an instance model: files written, mismatched requests refused."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
from engine_helpers import tiny

from segcore.cli import main
from segcore.models import create_model, save_model
from segcore.synthetic import write_geotiff


@pytest.fixture(scope="module")
def instance_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.manual_seed(0)
    module, meta = create_model("instance_unet", classes=["background", "thing"], in_channels=3)
    return save_model(tmp_path_factory.mktemp("m") / "inst.safetensors", module, meta)


def test_an_instance_model_writes_ids_classes_and_a_table(
    instance_file: Path, tmp_path: Path
) -> None:
    image = write_geotiff(tmp_path / "scene.tif", 200, 150)
    out = tmp_path / "classes.tif"
    code = main(["infer", str(image), "-m", str(instance_file), "-o", str(out), "--device", "cpu",
                 "--tile", "128", "--max-object", "16"])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "classes.instances.tif", "classes.objects.csv", "classes.tif", "scene.tif",
    ]  # fmt: skip
    with rasterio.open(image) as src, rasterio.open(tmp_path / "classes.instances.tif") as ds:
        assert ds.dtypes[0] == "uint32" and ds.crs == src.crs and ds.transform == src.transform
        ids = ds.read(1)
    with open(tmp_path / "classes.objects.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == int(ids.max()) == len(np.unique(ids)) - 1
    assert sum(int(r["area"]) for r in rows) == int((ids > 0).sum())


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--confidence", "c.tif"], "semantic output"),
        (["--mode", "blend"], "exact mode only"),
    ],
)
def test_semantic_outputs_of_an_instance_model_are_refused(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    flags: list[str], message: str,
) -> None:  # fmt: skip
    image = write_geotiff(tmp_path / "scene.tif", 64, 64)
    code = main(["infer", str(image), "-m", str(instance_file), "-o", str(tmp_path / "o.tif"),
                 *flags])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
    assert [p.name for p in tmp_path.iterdir()] == ["scene.tif"]


def test_objects_of_a_semantic_model_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tiny()
    path = save_model(tmp_path / "sem.safetensors", model.module, model.meta)
    image = write_geotiff(tmp_path / "scene.tif", 64, 64)
    code = main(["infer", str(image), "-m", str(path), "-o", str(tmp_path / "o.tif"),
                 "--objects", str(tmp_path / "o.csv")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--objects need an instance model" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif", "sem.safetensors"]


@pytest.mark.parametrize("target", ["-o", "--objects", "--instances"])
def test_no_instance_output_writes_over_the_input_or_another_output(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    import hashlib

    image = write_geotiff(tmp_path / "scene.tif", 64, 64)
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    paths = {"-o": tmp_path / "c.tif", "--objects": tmp_path / "t.csv",
             "--instances": tmp_path / "i.tif"}  # fmt: skip
    paths[target] = image if target != "--objects" else tmp_path / "c.tif"
    args = [f for k, v in paths.items() for f in (k, str(v))]
    code = main(["infer", str(image), "-m", str(instance_file), "--device", "cpu", *args])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]
