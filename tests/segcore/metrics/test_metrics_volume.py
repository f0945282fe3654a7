"""Label-volume scores: Dice/IoU over the volume and per slice, HD95 in millimetres."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from segcore.cli import main
from segcore.jobs import run_to_end
from segcore.metrics.volume import compare_volumes, hd95


def test_hd95_of_shifted_boxes_in_millimetres() -> None:
    truth = np.zeros((8, 8, 8), bool)
    truth[2:6, 2:6, 2:6] = True
    assert hd95(truth, truth, (1.0, 1.0, 1.0)) == 0.0
    moved = np.roll(truth, 1, axis=2)  # one slice further, slices 3 mm apart
    # every surface voxel of one box is 0 or 3 mm from the other's surface; more than 5 %
    # of them (the two end caps) are 3 mm away
    assert hd95(moved, truth, (0.5, 0.5, 3.0)) == pytest.approx(3.0)
    assert math.isinf(hd95(truth, np.zeros_like(truth), (1.0, 1.0, 1.0)))
    assert math.isnan(hd95(np.zeros_like(truth), np.zeros_like(truth), (1.0, 1.0, 1.0)))


def test_dice_over_the_volume_and_per_slice() -> None:
    truth = np.zeros((3, 4, 4), np.uint8)  # (slices, rows, cols) here, read slice by slice
    pred = np.zeros_like(truth)
    truth[0, :2, :2] = 1  # 4 voxels
    pred[0, :2, :1] = 1  # 2 of them
    truth[2, 0, 0] = 2
    pred[1, 3, 3] = 1  # a false positive on a slice without truth
    scores = run_to_end(
        compare_volumes(lambda z: pred[z], lambda z: truth[z], depth=3, spacing=(1.0, 1.0, 1.0))
    )
    one, two = scores
    assert (one.label, one.truth_voxels, one.predicted_voxels) == (1, 4, 3)
    assert one.dice == pytest.approx(2 * 2 / 7) and one.iou == pytest.approx(2 / 5)
    assert one.dice_per_slice[0] == pytest.approx(2 * 2 / 6)
    assert one.dice_per_slice[1] == 0.0 and math.isnan(one.dice_per_slice[2])
    assert two.dice == 0.0 and math.isinf(two.hd95_mm)


def _save(values: np.ndarray, like: Any, path: Path) -> Path:
    nib.save(nib.Nifti1Image(values.astype(np.uint8), like.affine, like.header), path)
    return path


def test_eval_on_mni_tissue_maps(
    tmp_path: Path, sample: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    gm: Any = nib.load(sample("nifti_gm"))
    wm: Any = nib.load(sample("nifti_wm"))
    g, w = np.asarray(gm.dataobj), np.asarray(wm.dataobj)
    # probability x 255: truth at 0.5, the "prediction" at other thresholds (close, not equal)
    truth = np.where(w > 127, 2, np.where(g > 127, 1, 0))
    pred = np.where(w > 153, 2, np.where(g > 102, 1, 0))
    gt_path = _save(truth, gm, tmp_path / "gt.nii.gz")
    pred_path = _save(pred, gm, tmp_path / "pred.nii.gz")
    code = main(
        [
            "eval",
            "--pred",
            str(pred_path),
            "--gt",
            str(gt_path),
            "--classes",
            "grey,white",
            "--json",
            str(tmp_path / "s.json"),
        ]
    )
    assert code == 0
    result = json.loads((tmp_path / "s.json").read_text())
    grey, white = result["per_class"]
    assert (grey["name"], white["name"]) == ("grey", "white")
    assert 0.8 < grey["dice"] < 1 and 0.8 < white["dice"] < 1
    assert 0 < grey["hd95_mm"] < 5 and 0 < white["hd95_mm"] < 5
    assert result["spacing_mm"] == [1.0, 1.0, 1.0]
    assert len(grey["dice_per_slice"]) == 189
    assert "HD95 mm" in capsys.readouterr().out
    # another grid: one line naming the file
    moved = np.array(gm.affine)
    moved[2, 3] += 1
    nib.save(nib.Nifti1Image(pred.astype(np.uint8), moved), tmp_path / "moved.nii.gz")
    code = main(["eval", "--pred", str(tmp_path / "moved.nii.gz"), "--gt", str(gt_path)])
    assert code == 2
    assert "moved.nii.gz: its affine differs" in capsys.readouterr().err
