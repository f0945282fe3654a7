"""Object matching at IoU 0.5: hand-checked counts, windows, and tessera eval's scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from segcore.cli import main
from segcore.metrics.matching import ObjectMatcher

GT = np.array(
    [
        [1, 1, 0, 2, 2, 0],
        [1, 1, 0, 2, 2, 0],
        [0, 0, 0, 0, 0, 3],
    ]
)
PRED = np.array(
    [
        [5, 5, 0, 7, 0, 0],  # 5 = gt 1 exactly; 7 covers 1 of gt 2's 4 pixels: no match
        [5, 5, 0, 0, 0, 0],
        [9, 9, 0, 0, 0, 0],  # 9 is on background: a false positive
    ]
)


def test_counts_match_the_drawing() -> None:
    m = ObjectMatcher(0.5)
    m.update(GT, PRED)
    s = m.result()
    assert (s.tp, s.fp, s.fn) == (1, 2, 2)
    assert s.precision == pytest.approx(1 / 3) and s.recall == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx(2 / (2 + 2 + 2)) and s.mean_iou == 1.0


def test_windows_of_one_image_add_up_to_the_whole() -> None:
    whole, parts = ObjectMatcher(), ObjectMatcher()
    whole.update(GT, PRED)
    for cols in (slice(0, 4), slice(4, 6)):  # gt 2 is cut by the window border
        parts.add(GT[:, cols], PRED[:, cols])
    parts.end_image()
    assert whole.result() == parts.result()


def test_a_match_needs_more_than_the_threshold() -> None:
    gt = np.array([[1, 1, 1, 1]])
    m = ObjectMatcher(0.5)
    m.update(gt, np.array([[4, 4, 0, 0]]))  # IoU exactly 0.5
    assert m.result().tp == 0
    with pytest.raises(ValueError, match="0.5, 1"):
        ObjectMatcher(0.3)


def test_eval_reports_f1_and_ap_scored_by_the_object_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "gi.npy", GT.astype(np.uint32))
    np.save(tmp_path / "pi.npy", PRED.astype(np.uint32))
    np.save(tmp_path / "gc.npy", (GT > 0).astype(np.uint8))
    np.save(tmp_path / "pc.npy", (PRED > 0).astype(np.uint8))
    table = tmp_path / "objects.csv"
    table.write_text("id,class_id,class,score,area,x,y,w,h\n5,1,c,0.9,4,0,0,2,2\n"
                     "7,1,c,0.2,1,3,0,1,1\n9,1,c,0.95,2,0,2,2,1\n")  # fmt: skip
    files = {k: str(tmp_path / f"{k}.npy") for k in ("pc", "gc", "pi", "gi")}
    args = ["eval", "--pred", files["pc"], "--gt", files["gc"], "--pred-instances", files["pi"],
            "--gt-instances", files["gi"], "--things", "1"]  # fmt: skip
    args += ["--json", str(tmp_path / "s.json")]
    assert main([*args, "--pred-objects", str(table)]) == 0
    out = capsys.readouterr().out
    assert "F1 0.3333" in out and "(1 matched, 2 false, 2 missed)" in out
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["objects"]["f1"] == pytest.approx(1 / 3)
    ranked = data["ap"]["AP50"]
    assert main(args) == 0  # no table: every score 1, order by COCO's tie rule
    assert json.loads((tmp_path / "s.json").read_text())["ap"]["AP50"] != ranked
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nx\n")
    assert main([*args, "--pred-objects", str(bad)]) == 2
    assert "bad.csv: cannot read object scores" in capsys.readouterr().err
