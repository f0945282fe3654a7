"""A 2-process LocalCluster against the single-process engine, batches and failures."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import rasterio
import zarr

from segcore.cluster.job import infer_images
from segcore.cluster.session import Cluster
from segcore.cluster.tasks import preflight
from segcore.engine import InferOptions, infer
from segcore.jobs import run_to_end
from segcore.synthetic import SceneSpec, write_geotiff

# tile 160 px (halo 23, stride 8) over a 400 x 560 image: 5 plan rows of 4 tiles,
# so 5 parts, and 2 chunk rows of 256 shared between parts (seams)
OPTIONS = InferOptions(tile=160, backend="torch")


def _scene(path: Path, width: int = 400, height: int = 560, seed: int = 3) -> Path:
    return write_geotiff(path, width, height, spec=SceneSpec(seed=seed), block=128)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def _single(image: Path, model: Path, out: Path, options: InferOptions) -> np.ndarray:
    run_to_end(infer(image, model, out, options=options))
    return _read(out)


def test_cluster_output_is_bit_identical_to_the_single_process_engine(
    cluster: Cluster, model_file: Path, tmp_path: Path
) -> None:
    image = _scene(tmp_path / "scene.tif")
    want = _single(image, model_file, tmp_path / "single.tif", OPTIONS)
    assert len(np.unique(want)) >= 2  # a map worth comparing
    items = [(image, tmp_path / "cluster.tif"), (image, tmp_path / "cluster.zarr")]
    steps = []
    outcomes = run_to_end(infer_images(cluster, items, model_file, options=OPTIONS), steps.append)
    assert [o.status for o in outcomes] == ["done", "done"]
    np.testing.assert_array_equal(_read(tmp_path / "cluster.tif"), want)
    store = zarr.open_array(str(tmp_path / "cluster.zarr"), mode="r")
    np.testing.assert_array_equal(store[:], want)
    assert store.attrs["crs"] and len(store.attrs["classes"]) == 3
    with rasterio.open(tmp_path / "cluster.tif") as got, rasterio.open(image) as src:
        assert got.crs == src.crs and got.transform == src.transform
    assert steps[-1].done == steps[-1].total == 2 * 20 and steps[-1].rate > 0
    assert not list(tmp_path.glob(".*part*"))  # no hidden store left


def test_onnx_runner_on_workers_matches_the_single_process_onnx_run(
    cluster: Cluster, model_file: Path, tmp_path: Path
) -> None:
    image = _scene(tmp_path / "scene.tif", 300, 420, seed=5)
    options = InferOptions(tile=160, backend="onnx")
    want = _single(image, model_file, tmp_path / "single.tif", options)
    outcomes = run_to_end(
        infer_images(cluster, [(image, tmp_path / "c.tif")], model_file, options=options)
    )
    assert outcomes[0].status == "done", outcomes[0].error
    np.testing.assert_array_equal(_read(tmp_path / "c.tif"), want)


def test_a_killed_worker_has_its_tasks_run_again(
    cluster: Cluster, model_file: Path, tmp_path: Path
) -> None:
    image = _scene(tmp_path / "scene.tif", 300, 700, seed=7)
    want = _single(image, model_file, tmp_path / "single.tif", OPTIONS)
    job = infer_images(cluster, [(image, tmp_path / "c.tif")], model_file, options=OPTIONS)
    killed = False
    try:
        while True:
            step = next(job)
            if step.done > 0 and not killed:
                victim = next(iter(cluster.client.scheduler_info()["workers"]))
                pid = cluster.client.run(os.getpid, workers=[victim])[victim]
                os.kill(pid, signal.SIGKILL)  # kill -9; its nanny starts a new worker
                killed = True
    except StopIteration as stop:
        outcomes = stop.value
    assert killed and outcomes[0].status == "done", outcomes[0].error
    np.testing.assert_array_equal(_read(tmp_path / "c.tif"), want)
    cluster.client.wait_for_workers(2, timeout=60)


def test_a_failing_image_does_not_stop_the_batch_and_a_rerun_resumes(
    cluster: Cluster, model_file: Path, tmp_path: Path
) -> None:
    good = [_scene(tmp_path / f"s{i}.tif", 200, 180, seed=i) for i in range(2)]
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 64)  # fails on the client: no image in it
    cut = _scene(tmp_path / "cut.tif", 300, 300, seed=9)
    os.truncate(cut, cut.stat().st_size // 2)  # opens, then fails on a worker, mid-image
    out = tmp_path / "out"
    out.mkdir()
    items = [(p, out / p.name) for p in (good[0], broken, cut, good[1])]
    steps = []
    job = infer_images(cluster, items, model_file, options=OPTIONS, resume=True)
    outcomes = run_to_end(job, steps.append)
    assert [o.status for o in outcomes] == ["done", "failed", "failed", "done"]
    assert steps[-1].done == steps[-1].total  # the failed image's tiles leave the total
    assert "broken.tif" in outcomes[1].error and "cut.tif" in outcomes[2].error
    assert sorted(p.name for p in out.iterdir()) == ["s0.tif", "s1.tif"]  # nothing half-written
    again = run_to_end(infer_images(cluster, items, model_file, options=OPTIONS, resume=True))
    assert [o.status for o in again] == ["skipped", "failed", "failed", "skipped"]


def test_a_worker_without_the_model_dependencies_is_reported_before_any_tile(
    cluster: Cluster, model_file: Path, tmp_path: Path
) -> None:
    image = _scene(tmp_path / "scene.tif", 200, 180)

    def hide_onnxruntime() -> None:
        import sys

        for name in [n for n in sys.modules if n.startswith("onnxruntime")]:
            del sys.modules[name]
        sys.modules["onnxruntime"] = None  # type: ignore[assignment]  # import fails
        from segcore.cluster import ship

        ship._RUNNERS.clear()

    def restore() -> None:
        import sys

        sys.modules.pop("onnxruntime", None)

    cluster.client.run(hide_onnxruntime)
    try:
        options = InferOptions(tile=160, backend="onnx")
        from segcore.cluster.session import ClusterError

        with pytest.raises(ClusterError, match="cannot load .*install tessera"):
            run_to_end(infer_images(cluster, [(image, tmp_path / "c.tif")], model_file,
                                    options=options))  # fmt: skip
    finally:
        cluster.client.run(restore)
    assert not (tmp_path / "c.tif").exists()
    assert not list(tmp_path.glob(".*"))


def test_preflight_names_an_output_folder_the_worker_cannot_see(
    model_file: Path, tmp_path: Path
) -> None:
    from segcore.cluster.ship import RunnerSpec, shipment
    from segcore.models.files import read_meta

    ship = shipment(model_file, read_meta(model_file), onnx=None)
    image = _scene(tmp_path / "scene.tif", 64, 64)
    answer = preflight(ship, (RunnerSpec("torch", False, "cpu"),), str(image),
                       "/nonexistent/out/.probe.zarr")  # fmt: skip
    assert "cannot see the output folder /nonexistent/out" in answer
    answer = preflight(ship, (RunnerSpec("torch", False, "cpu"),), "/nonexistent/a.tif", "x")
    assert "cannot see the image /nonexistent/a.tif" in answer


def test_the_dashboard_is_served(cluster: Cluster) -> None:
    import urllib.request

    assert cluster.dashboard.startswith("http://")
    with urllib.request.urlopen(cluster.dashboard, timeout=30) as page:
        assert page.status == 200
