"""``tessera info``: JSON metadata, one-line failures, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from io_helpers import ramp, write_geotiff

from segcore.cli import main


def test_info_prints_geotiff_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_geotiff(tmp_path / "geo.tif", ramp(1200, 1100, 4, "uint16"), nodata=0)
    assert main(["info", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "geotiff"
    shape = (info["width"], info["height"], info["bands"], info["dtype"])
    assert shape == (1100, 1200, 4, "uint16")
    assert info["band_names"] == ["band 1", "band 2", "band 3", "band 4"]
    assert info["crs"] == "EPSG:32616"
    assert info["transform"] == [0.5, 0.0, 500000.0, 0.0, -0.5, 4400000.0]
    assert info["nodata"] == 0.0
    assert info["levels"] == [
        {"downsample": 1.0, "width": 1100, "height": 1200},
        {"downsample": 2.0, "width": 550, "height": 600},
        {"downsample": 4.0, "width": 275, "height": 300},
    ]
    assert info["depth"] == 1
    for key in ("mpp", "spacing", "window", "modality", "orientation"):
        assert info[key] is None


def test_info_prints_medical_metadata(sample, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["info", "--compact", str(sample("nifti_t1")), "--axis", "0"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["orientation"], info["spacing"], info["depth"]) == ("RAS", [1.0, 1.0, 1.0], 197)
    assert main(["info", str(sample("dicom_ct_multiframe"))]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["modality"], info["window"], info["depth"]) == ("CT", [49.0, 102.0], 2)


def test_info_failure_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.tif").touch()
    assert main(["info", str(tmp_path / "empty.tif")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "empty.tif: file is empty" in err and "Traceback" not in err


_PROBE = """
import sys
from app.launcher import main
good = main(["info", "--compact", sys.argv[1]])
bad = main(["info", sys.argv[2]])
print(good, bad, "torch" in sys.modules)
"""


def test_info_subprocess_does_not_import_torch(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "geo.tif", ramp(64, 64, 1))
    (tmp_path / "junk.bin").write_bytes(b"junk" * 100)
    cmd = [sys.executable, "-c", _PROBE, str(path), str(tmp_path / "junk.bin")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    info, statuses = run.stdout.strip().splitlines()
    assert json.loads(info)["width"] == 64
    assert statuses == "0 2 False"  # info worked, junk failed with 2, torch never imported
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and "junk.bin: not a recognised image format" in err[0], run.stderr
