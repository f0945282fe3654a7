"""Run by test_training_ddp.py under torchrun: train a tiny model, dump this rank's weights."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from training_helpers import tiny_config, two_class_data

from segcore.jobs import run_to_end
from segcore.training.loop import train


def main() -> None:
    out = Path(sys.argv[1])
    rank = int(os.environ["RANK"])
    steps: list[int] = []
    config = tiny_config(epochs=2, batch=2, tiles_per_epoch=8, output=out / "model.safetensors")
    result = run_to_end(
        train(config, data=two_class_data()),
        lambda p: steps.append(p.payload.step) if p.payload and p.payload.phase == "train" else 0,
    )
    torch.save(result.module.state_dict(), out / f"rank{rank}.pt")
    info = {"steps": steps, "miou": [r.val_miou for r in result.history]}
    (out / f"rank{rank}.json").write_text(json.dumps(info))


if __name__ == "__main__":
    main()
