"""The DistributedDataParallel path: two CPU processes under torchrun with gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from segcore.models.files import load_model

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_two_processes_train_one_model(tmp_path: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(WORKER.parent))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    result = subprocess.run(
        [*cmd, str(WORKER), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # 8 tiles per epoch shared by 2 processes with batch 2: 2 steps each per epoch
    assert infos[0]["steps"] == infos[1]["steps"] == [1, 2, 3, 4]
    # metrics are summed over ranks, so both see the same validation mIoU
    assert infos[0]["miou"] == infos[1]["miou"]
    weights = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    saved = load_model(tmp_path / "model.safetensors")  # written by rank 0 only
    assert all(torch.equal(saved.module.state_dict()[k], weights[0][k]) for k in weights[0])
    assert len(saved.meta.history) == 2
