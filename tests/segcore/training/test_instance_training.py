"""Instance training: targets from instance maps, a short run, the CLI, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from segcore.cli import main
from segcore.errors import TrainingError
from segcore.jobs import run_to_end
from segcore.models import read_meta
from segcore.training.config import TrainConfig
from segcore.training.data import data_from_arrays
from segcore.training.instance_data import data_from_instance_arrays
from segcore.training.instance_loop import train_instances
from segcore.training.instance_targets import dense_targets


def test_targets_split_touching_objects_and_peak_at_their_centres() -> None:
    ids = np.zeros((7, 11), np.uint32)
    ids[1:6, 1:6] = 4
    ids[1:6, 6:10] = 9  # touches object 4 along a column
    fg, boundary, dist = dense_targets(ids)
    assert (fg == (ids > 0)).all()
    assert boundary[3, 5] == 1 and boundary[3, 6] == 1  # both sides of the touching line
    assert boundary[3, 3] == 0 and boundary[0, 0] == 0
    assert dist[3, 3] == 1.0 and dist.max() == 1.0 and dist[1, 1] < 0.5
    assert (dist[ids == 0] == 0).all()
    cut = dense_targets(ids[:, 3:], cut_edges=True)[2]  # object 4 now touches the left edge
    assert (cut[ids[:, 3:] == 4] == -1).all() and cut[3, 5] > 0


def _discs(size: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    ids = np.zeros((size, size), np.uint32)
    for k, (x, y) in enumerate([(20, 20), (31, 22), (70, 40), (100, 100), (40, 90), (90, 70),
                                (60, 110), (110, 20), (20, 60)], start=1):  # fmt: skip
        ids[(xx - x) ** 2 + (yy - y) ** 2 <= 36] = k
    image = np.where(ids > 0, 200, 40) + rng.normal(0, 10, ids.shape)
    return np.clip(image, 0, 255).astype(np.uint8), ids


def test_a_short_run_saves_an_instance_model_with_its_stitching_margin(tmp_path: Path) -> None:
    image, ids = _discs()
    config = TrainConfig(arch="instance_unet", epochs=2, tile=64, batch=4, tiles_per_epoch=8,
                         lr=3e-3, device="cpu", output=tmp_path / "m.safetensors")  # fmt: skip
    result = run_to_end(train_instances(config, data=data_from_instance_arrays([image], [ids])))
    assert result.max_object == 24  # 1.5 x 13 (a disc of radius 6), rounded up to the stride 8
    assert len(result.history) == 2 and result.held_out
    assert 0.0 <= result.best_f1 <= 1.0 and result.best_epoch in (1, 2)
    meta = read_meta(tmp_path / "m.safetensors")
    assert meta.task == "instance" and meta.exact
    assert meta.extra["instance"]["max_object"] == 24
    assert meta.extra["instance"]["largest_labelled_object"] == 13
    assert meta.extra["instance"]["grouping"] == result.grouping.to_json()
    assert result.tuned_f1 >= result.best_f1 - 1e-9  # the default grouping is in the grid
    assert [r["epoch"] for r in meta.history] == [1, 2]


def test_requests_that_cannot_train_an_instance_model_are_refused() -> None:
    image, ids = _discs()
    data = data_from_instance_arrays([image], [ids])
    with pytest.raises(TrainingError, match="semantic architecture"):
        run_to_end(train_instances(TrainConfig(arch="small_unet"), data=data))
    empty = data_from_instance_arrays([image], [np.zeros_like(ids)])
    with pytest.raises(TrainingError, match="hold no object"):
        run_to_end(train_instances(TrainConfig(arch="instance_unet"), data=empty))
    classes_only = data_from_arrays([image], [(ids > 0).astype(np.uint8)])
    with pytest.raises(TrainingError, match="hold no object"):
        run_to_end(train_instances(TrainConfig(arch="instance_unet"), data=classes_only))
    from segcore.training.loop import train

    with pytest.raises(TrainingError, match="instance architecture"):
        run_to_end(train(TrainConfig(arch="instance_unet"), data=classes_only))


def test_cli_trains_from_folders_of_instance_masks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, ids = _discs(96)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    tifffile.imwrite(tmp_path / "images" / "a.tif", image)
    tifffile.imwrite(tmp_path / "masks" / "a.tif", ids.astype(np.uint16))
    out = tmp_path / "m.safetensors"
    code = main(["train", "--arch", "instance_unet", "--images", str(tmp_path / "images"),
                 "--masks", str(tmp_path / "masks"), "-o", str(out), "--epochs", "1",
                 "--tile", "64", "--batch", "2", "--tiles-per-epoch", "2", "--device", "cpu",
                 "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "best validation F1 at IoU 0.5" in capsys.readouterr().out
    assert read_meta(out).task == "instance"
    code = main(["train", "--arch", "instance_unet", "--images", str(tmp_path / "images"),
                 "--masks", str(tmp_path / "masks"), "-o", str(tmp_path / "tuned.safetensors"),
                 "--from", str(out)])  # fmt: skip
    assert code == 2 and "fine-tuning an instance model" in capsys.readouterr().err


def test_a_project_needs_exactly_one_thing_class() -> None:
    from segcore.cli.train_instances import _object_classes
    from segcore.labels.schema import ClassInfo

    bg = ClassInfo(0, "background", (0, 0, 0), False)
    cell = ClassInfo(3, "cell", (255, 0, 0), True)
    classes = _object_classes("proj", (bg, cell))
    assert [(c.id, c.name, c.thing) for c in classes] == [
        (0, "background", False),
        (1, "cell", True),
    ]
    with pytest.raises(TrainingError, match="has 0 \\(none\\)"):
        _object_classes("proj", (bg,))
    with pytest.raises(TrainingError, match="has 2 \\(cell, dot\\)"):
        _object_classes("proj", (bg, cell, ClassInfo(4, "dot", (0, 0, 255), True)))
