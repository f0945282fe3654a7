"""``tessera infer`` over folders, globs and lists; on a cluster; bad clusters."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio

from segcore.cli import main
from segcore.cluster import session
from segcore.cluster.batch import batch_items, expand_inputs, is_batch
from segcore.errors import InferenceError
from segcore.synthetic import SceneSpec, write_geotiff


def _images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [
        write_geotiff(folder / f"s{i}.tif", 200, 180, spec=SceneSpec(seed=i), block=128)
        for i in range(count)
    ]


def test_inputs_from_a_folder_a_glob_and_a_list(tmp_path: Path) -> None:
    images = _images(tmp_path / "in", 3)
    (tmp_path / "in" / "notes.md").write_text("not an image")
    listing = tmp_path / "list.txt"
    listing.write_text("# two of them\nin/s2.tif\n\nin/s0.tif\n")
    assert expand_inputs([tmp_path / "in"]) == images
    assert expand_inputs([Path(f"{tmp_path}/in/s[01].tif")]) == images[:2]
    assert expand_inputs([listing]) == [images[2], images[0]]
    assert is_batch([tmp_path / "in"]) and is_batch([listing]) and not is_batch([images[0]])
    with pytest.raises(InferenceError, match="would both write"):
        batch_items([images[0], tmp_path / "other" / "s0.tif"], tmp_path / "out", ".tif")


def test_batch_without_a_cluster_goes_on_after_a_failure_and_resumes(
    tmp_path: Path, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _images(tmp_path / "in", 2)
    (tmp_path / "in" / "s9.tif").write_bytes(b"II*\x00" + b"\x00" * 64)
    out = tmp_path / "out"
    args = ["infer", str(tmp_path / "in"), "-m", str(model_file), "-o", str(out), "--tile", "160"]
    assert main(args) == 1  # one image failed, the others were written
    err = capsys.readouterr().err
    assert "s9.tif" in err and "failed" in err
    with (out / "summary.csv").open() as f:
        rows = {Path(r["image"]).name: r for r in csv.DictReader(f)}
    assert [rows[n]["status"] for n in ("s0.tif", "s1.tif", "s9.tif")] == ["done", "done", "failed"]
    assert rows["s0.tif"]["width"] == "200" and rows["s9.tif"]["error"]
    first = (out / "s0.tif").stat().st_mtime_ns
    assert main(args) == 1
    assert (out / "s0.tif").stat().st_mtime_ns == first  # complete outputs are skipped


def test_cli_on_an_embedded_cluster_equals_the_single_process_run(
    tmp_path: Path, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = write_geotiff(tmp_path / "big.tif", 300, 450, spec=SceneSpec(seed=2), block=128)
    common = ["-m", str(model_file), "--tile", "160", "--backend", "torch"]
    assert main(["infer", str(image), "-o", str(tmp_path / "one.tif"), *common]) == 0
    out = tmp_path / "two.tif"
    assert main(["infer", str(image), "-o", str(out), *common, "--cluster", "2", "--cog"]) == 0
    err = capsys.readouterr().err
    assert "2 Dask worker(s), dashboard http" in err
    with rasterio.open(tmp_path / "one.tif") as a, rasterio.open(out) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
        assert b.crs == a.crs and b.transform == a.transform
        assert b.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and b.profile["tiled"]


def test_an_unreachable_scheduler_is_one_line(
    tmp_path: Path,
    model_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "CONNECT_SECONDS", 1)
    image = write_geotiff(tmp_path / "a.tif", 64, 64)
    args = ["infer", str(image), "-m", str(model_file), "-o", str(tmp_path / "o.tif")]
    assert main([*args, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert not (tmp_path / "o.tif").exists()
