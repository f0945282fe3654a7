"""``tessera infer --project`` results open in the app as the prediction layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr
from annotate_helpers import make_window, open_project

from segcore.cli import main
from segcore.labels.schema import make_classes
from segcore.models import build_model
from segcore.models.files import save_model
from segcore.models.meta import ModelMeta, Normalization
from segcore.project.predictions import prediction_path, project_images


def _model(path: Path) -> Path:
    torch.manual_seed(0)
    module = build_model("small_unet", num_classes=3, in_channels=3, encoder=None, config={})
    for layer in module.modules():  # weights that give more than one class
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(layer.weight)
    meta = ModelMeta(
        "small_unet", {}, 3, tuple(make_classes(["a", "b", "c"])),
        Normalization((0.5,) * 3, (0.25,) * 3, 255.0), output_stride=8,
        receptive_field=23, exact=True,
    )  # fmt: skip
    return save_model(path, module.eval(), meta)


def test_project_predictions_open_as_the_prediction_layer(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot)
    root = open_project(qtbot, window, tmp_path)
    window.annotation.projects.save()
    model = _model(tmp_path / "m.safetensors")
    assert main(["infer", "--project", str(root), "-m", str(model)]) == 0
    ((image_id, _),) = project_images(root)
    stored = zarr.open_array(str(prediction_path(root, image_id)), mode="r")[:]
    assert (root / "predictions" / "summary.csv").is_file()
    window.annotation.projects.open_image(image_id)
    qtbot.waitUntil(lambda: window.session.prediction is not None, timeout=15_000)
    pred = window.session.prediction
    h, w = stored.shape
    np.testing.assert_array_equal(pred.read("semantic", 0, 0, w, h), stored)
    assert [c.name for c in window.session.prediction_classes] == ["a", "b", "c"]
    assert window.canvas.layer("prediction") is not None
