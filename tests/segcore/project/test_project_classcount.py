"""Per-class pixel counts over a project: every slice of a volume, chunks across an image,
never-labelled images skipped (no store made for them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segcore.labels.schema import make_classes
from segcore.project import Project
from segcore.project.classcount import class_pixel_counts


def test_counts_every_slice_and_chunk_and_skips_unlabelled_images(tmp_path: Path) -> None:
    for name in ("vol", "big", "empty"):
        (tmp_path / f"{name}.tif").write_bytes(b"x")
    p = Project.create(tmp_path / "p", classes=make_classes(["bg", "a", "b"]))
    p.add_image(tmp_path / "vol.tif", width=10, height=6, depth=3)
    p.add_image(tmp_path / "big.tif", width=1000, height=700)
    p.add_image(tmp_path / "empty.tif", width=50, height=50)
    vol = p.label_store("vol")
    vol.plane(0).write("semantic", 0, 0, np.full((2, 5), 1, np.uint8))  # 10 of class 1
    vol.plane(2).write("semantic", 4, 3, np.full((3, 6), 2, np.uint8))  # 18 of class 2
    big = p.label_store("big")
    assert big.chunk < 1000  # the write below spans several chunks
    block = np.zeros((30, 800), np.uint8)
    block[:, 400:] = 2  # 12,000 of class 2, 12,000 of class 0
    big.write("semantic", 150, 600, block)
    p.save()
    counts = class_pixel_counts(p)
    assert counts.shape == (256,) and counts[255] == 0
    assert counts[:3].tolist() == [12_000, 10, 12_018] and counts[3:].sum() == 0
    assert not p.label_store_path("empty").exists()
    p.close()
    again = Project.open(tmp_path / "p")  # from the stores on disk
    assert class_pixel_counts(again)[:3].tolist() == [12_000, 10, 12_018]
    again.close(save=False)
