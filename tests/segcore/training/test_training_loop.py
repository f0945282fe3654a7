"""The training job: bad input refused early, stopping, determinism, history, safe files."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import tiny_config, two_class_data

from segcore.errors import TrainingError
from segcore.jobs import run_to_end
from segcore.models.files import load_model
from segcore.training.config import TrainConfig, TrainMetrics
from segcore.training.data import TrainingData, data_from_arrays
from segcore.training.loop import lr_factor, train


def _first_error(config: TrainConfig, data: TrainingData, model: object = None) -> str:
    job = train(config, data=data, model=model)
    with pytest.raises(TrainingError) as info:
        for step in job:
            assert not (isinstance(step.payload, TrainMetrics)), "training started"
    return str(info.value)


def test_no_labels_refused_before_training() -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    data = data_from_arrays([image], [np.full((32, 32), 255, np.uint8)], classes=["a", "b"])
    assert "no labelled pixels in image 0" in _first_error(tiny_config(), data)


def test_one_class_refused() -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    data = data_from_arrays([image], [np.ones((32, 32), np.uint8)], classes=["a", "b"])
    assert "only one class is labelled (b)" in _first_error(tiny_config(), data)


def test_ids_beyond_the_model_refused(tmp_path: Path) -> None:
    result = run_to_end(train(tiny_config(epochs=1), data=two_class_data()))
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 40:] = 2
    image = np.zeros((64, 64, 3), np.uint8)
    data = data_from_arrays([image], [mask])  # unnamed ids: the model's classes apply
    message = _first_error(tiny_config(), data, model=result)
    assert "class id(s) [2]" in message and "[0, 1]" in message


def test_band_count_must_match_the_model() -> None:
    result = run_to_end(train(tiny_config(epochs=1), data=two_class_data()))
    message = _first_error(tiny_config(), two_class_data(bands=4), model=result)
    assert "image 0 has 4 band(s) but the model takes 3" in message


def test_mixed_band_counts_refused() -> None:
    a, b = two_class_data(bands=3), two_class_data(bands=1)
    data = TrainingData(a.images + b.images, a.classes)
    assert "1 band(s)" in _first_error(tiny_config(), data)


def test_tile_must_fit_the_output_stride() -> None:
    message = _first_error(tiny_config(tile=36, arch_config={}), two_class_data())
    assert "tile 36 is not a multiple of the model's output stride 8; use 32 or 40" in message


def test_bad_options_refused() -> None:
    assert "budget" in _first_error(tiny_config(epochs=None), two_class_data())
    assert ".safetensors" in _first_error(tiny_config(output=Path("m.pt")), two_class_data())
    missing = Path("/nonexistent/dir/m.safetensors")
    assert "folder /nonexistent/dir does not exist" in _first_error(
        tiny_config(output=missing), two_class_data()
    )


def test_runs_reports_and_saves_history(tmp_path: Path, scene_data: TrainingData) -> None:
    out = tmp_path / "m.safetensors"
    steps = []
    result = run_to_end(train(tiny_config(epochs=3, output=out), data=scene_data), steps.append)
    payloads = [s.payload for s in steps if s.payload is not None]
    assert [p.phase for p in payloads].count("val") == 3
    assert [p.phase for p in payloads].count("train") == 3 * 2  # 8 tiles / batch 4
    assert result.stopped == "completed" and len(result.history) == 3
    assert result.best_miou == max(r.val_miou for r in result.history)
    assert 0.0 <= result.best_miou <= 1.0
    loaded = load_model(out)
    assert [h["epoch"] for h in loaded.meta.history] == [1, 2, 3]
    assert loaded.meta.history[0]["train_loss"] == pytest.approx(result.history[0].train_loss)
    assert loaded.meta.normalization.scale == 255.0
    for key, value in result.module.state_dict().items():
        assert torch.equal(value.cpu(), loaded.module.state_dict()[key])


def test_same_seed_same_weights(scene_data: TrainingData) -> None:
    config = tiny_config(epochs=1, tiles_per_epoch=8)
    a = run_to_end(train(config, data=scene_data)).module.state_dict()
    b = run_to_end(train(config, data=scene_data)).module.state_dict()
    c = run_to_end(train(tiny_config(epochs=1, seed=1), data=scene_data)).module.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_close_mid_epoch_keeps_best_checkpoint(tmp_path: Path, scene_data: TrainingData) -> None:
    out = tmp_path / "m.safetensors"
    job = train(tiny_config(epochs=5, tiles_per_epoch=16, output=out), data=scene_data)
    seen_val = False
    for step in job:
        if step.payload is not None and step.payload.phase == "val":
            seen_val = True
        if seen_val and step.payload is not None and step.payload.step == 6:
            job.close()  # in the middle of epoch 2
            break
    kept = load_model(out)
    assert [h["epoch"] for h in kept.meta.history] == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp files


def test_stop_event_returns_the_best_so_far(scene_data: TrainingData) -> None:
    stop = threading.Event()
    job = train(tiny_config(epochs=50), data=scene_data, stop=stop)

    def on_progress(step: object) -> None:
        payload = getattr(step, "payload", None)
        if payload is not None and payload.phase == "val" and payload.epoch == 2:
            stop.set()

    result = run_to_end(job, on_progress)
    assert result.stopped == "stopped" and len(result.history) in (2, 3)


def test_minutes_budget_stops() -> None:
    # No epoch limit: only the 60 ms budget can end the run. How many epochs fit in it
    # depends on the machine, so the test checks the reason, not the count.
    result = run_to_end(train(tiny_config(epochs=None, minutes=0.001), data=two_class_data()))
    assert result.stopped == "time" and len(result.history) >= 1


def test_crash_leaves_previous_model_intact(tmp_path: Path, scene_data: TrainingData) -> None:
    out = tmp_path / "m.safetensors"
    first = run_to_end(train(tiny_config(epochs=1, output=out), data=scene_data))
    before = out.read_bytes()

    class Boom(Exception):
        pass

    def explode(step: object) -> None:
        payload = getattr(step, "payload", None)
        if payload is not None and payload.phase == "train":
            raise Boom

    with pytest.raises(Boom):
        run_to_end(train(tiny_config(epochs=3, output=out), data=scene_data), explode)
    assert out.read_bytes() == before
    assert first.meta.history == load_model(out).meta.history


def test_early_stopping_waits_until_every_class_is_predicted() -> None:
    # lr 1e-9: nothing is learnt, so the scores never improve; the random start
    # predicts one class only for a while, and patience only counts after that
    result = run_to_end(train(tiny_config(epochs=30, patience=2, lr=1e-9), data=two_class_data()))
    first_full = next(i for i, r in enumerate(result.history) if not r.missed)
    assert result.history[0].missed  # the start is a constant prediction
    assert result.stopped == "early_stop" and len(result.history) == first_full + 3
    assert not result.history[result.best_epoch - 1].missed


def test_lr_schedules() -> None:
    assert lr_factor("poly", 0.0) == 1.0 and lr_factor("poly", 1.0) == 0.0
    assert lr_factor("poly", 0.5) == pytest.approx(0.5**0.9)
    assert lr_factor("onecycle", 0.0) == pytest.approx(1 / 25)
    assert lr_factor("onecycle", 0.3) == pytest.approx(1.0)
    assert lr_factor("onecycle", 1.0) == pytest.approx(1 / 25e4)


def test_class_balanced_focal_and_onecycle_run(scene_data: TrainingData) -> None:
    config = tiny_config(epochs=1, loss="balanced_ce+logcosh_dice", schedule="onecycle")
    assert np.isfinite(run_to_end(train(config, data=scene_data)).history[0].train_loss)
    config = tiny_config(epochs=1, loss="focal", focal_alpha=0.5, augment=False)
    assert np.isfinite(run_to_end(train(config, data=scene_data)).history[0].train_loss)


def test_the_written_model_gets_its_onnx_copy(
    tmp_path: Path, scene_data: TrainingData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_ONNX_ON_WRITE", "1")
    from segcore.models.onnx_cache import model_key, onnx_dir

    out = tmp_path / "m.safetensors"
    steps = []
    run_to_end(train(tiny_config(epochs=1, output=out, onnx_copy=True), data=scene_data),
               steps.append)  # fmt: skip
    assert (onnx_dir() / f"{model_key(out)}.onnx").is_file()  # no inference pays the export
    assert any("to ONNX" in s.message for s in steps)
