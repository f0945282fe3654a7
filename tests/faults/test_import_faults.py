"""Hostile label files through ``tessera import``: each is refused with exit 2, a
message naming the file, the record and the field, no traceback, nothing imported,
and memory bounded (the CLI runs in a child whose address space is capped).

Today's failures this guards against (issue #13): a COCO polygon with NaN
coordinates grew to 22 GB; huge coordinates crashed pycocotools even when only
checking; labelme points with NaN or 1e12 replaced a project's labels without
a word; deep or 5,000-digit JSON, COCO ``width: -5``, GeoJSON ``geometry:
null`` or NaN coordinates gave tracebacks; a COCO image claiming 200000 x
200000 pixels was answered "out of memory; try a smaller tile".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from import_fault_helpers import DRIVER, SIDE, corpus
from PIL import Image
from project_fault_helpers import digest

from segcore.labels.schema import make_classes
from segcore.project import Project

ADDRESS_SPACE = 3 * 2**30  # the child may map at most this much
PEAK_RSS = 512 * 2**20  # and use at most this much (about 160 MiB is what it takes)


def _project(tmp_path: Path) -> Path:
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((SIDE, SIDE, 3), np.uint8)).save(image)
    root = tmp_path / "proj"
    p = Project.create(root, classes=make_classes(["background", "cell"], things={"cell"}))
    p.add_image(image)
    ed = p.editor("a")
    from segcore.labels.box import Box
    from segcore.labels.edits.paint import paint_rectangle

    ed.apply(paint_rectangle, Box(0, 0, 3, 3), paint=ed.paint_for(1))  # labels to keep
    p.close()
    return root


def test_hostile_label_files_are_refused_with_one_reason_each(tmp_path: Path) -> None:
    root = _project(tmp_path)
    cases = corpus(tmp_path / "corpus")
    inputs = {
        str(c.path): digest(c.path) if c.path.is_dir() else c.path.read_bytes() for c in cases
    }
    before = digest(root)
    argv = [
        [
            c.name,
            ["import", str(c.path), "-f", c.fmt, *(["--project", str(root)] if c.project else [])],
        ]
        for c in cases
    ]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(argv))
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(plan), str(ADDRESS_SPACE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            results.update(json.loads(line[7:]))
    assert done.returncode == 0, f"the importer died ({done.returncode}) after {list(results)}"
    failures = []
    for case in cases:
        got = results[case.name]
        text = got["stderr"]
        wanted = [w for w in case.expect if w not in text]
        if got["rc"] != 2 or "Traceback" in text or wanted:
            failures.append(f"{case.name}: exit {got['rc']}, missing {wanted}: {text[-400:]}")
    assert not failures, "\n".join(failures)
    assert max(r["peak"] for r in results.values()) < PEAK_RSS
    assert digest(root) == before  # nothing imported, nothing rewritten
    for case in cases:
        now = digest(case.path) if case.path.is_dir() else case.path.read_bytes()
        assert now == inputs[str(case.path)], case.name


@pytest.mark.parametrize("fmt", ["coco", "labelme"])
def test_good_files_still_import(tmp_path: Path, fmt: str) -> None:
    """The checks refuse what is wrong, not what is unusual: points on the edge,
    slightly outside, integral floats for sizes."""
    from segcore.formats.registry import import_labels

    folder = tmp_path / fmt
    folder.mkdir()
    if fmt == "coco":
        doc = {
            "images": [{"id": 1, "file_name": "a.png", "width": 8.0, "height": 8}],
            "categories": [{"id": 1, "name": "cell", "color": [300, 0, 0]}],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 1,
                    "category_id": 1,
                    "segmentation": [[-0.5, -0.5, 8.4, -0.5, 8.4, 8.4]],
                }
            ],
        }
        (folder / "a.json").write_text(json.dumps(doc))
    else:
        doc = {
            "shapes": [
                {
                    "label": "cell",
                    "points": [[-1, -1], [9, -1], [9, 9]],
                    "group_id": 3,
                    "shape_type": "polygon",
                }
            ],
            "imageHeight": 8,
            "imageWidth": 8.0,
        }
        (folder / "a.json").write_text(json.dumps(doc))
    imported = import_labels(fmt, folder / "a.json")
    assert imported.images[0].classes.shape == (8, 8)
    assert (imported.images[0].classes == 0).sum() >= 28  # the triangle, clipped


@pytest.mark.byhand
def test_campaign_randomly_damaged_files(tmp_path: Path) -> None:
    """Random poison in valid COCO, labelme and GeoJSON files: an answer every time."""
    import os
    from collections import Counter

    from import_fault_helpers import fuzz_corpus

    count = int(os.environ.get("TESSERA_FUZZ", "2000"))
    root = _project(tmp_path)
    cases = fuzz_corpus(tmp_path / "fuzz", count, seed=13)
    argv = [
        [
            c.name,
            ["import", str(c.path), "-f", c.fmt, *(["--project", str(root)] if c.project else [])],
        ]
        for c in cases
    ]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(argv))
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(plan), str(ADDRESS_SPACE)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            results.update(json.loads(line[7:]))
    assert done.returncode == 0, f"the importer died ({done.returncode}) after {len(results)} files"
    outcomes = Counter(r["rc"] for r in results.values())
    bad = [n for n, r in results.items() if r["rc"] not in (0, 2) or "Traceback" in r["stderr"]]
    peak = max(r["peak"] for r in results.values())
    print(f"\n{count} damaged files: exit codes {dict(outcomes)}, peak RSS {peak / 2**20:.0f} MiB")
    assert not bad, bad[:5]
    assert peak < PEAK_RSS
