"""A tiny model file shared by the model tests (small_unet with 8-16 channels)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from segcore.models import create_model, save_model
from segcore.models.meta import ModelMeta


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[torch.nn.Module, ModelMeta, Path]:
    """(module, meta, path) of a saved 2-band, 3-class small U-Net with 2 levels."""
    torch.manual_seed(0)
    module, meta = create_model(
        "small_unet", classes=["a", "b", "c"], in_channels=2, config={"channels": [8, 16]}
    )
    path = save_model(tmp_path / "tiny.safetensors", module, meta)
    return module.eval(), meta, path
