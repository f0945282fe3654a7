"""Label volumes on the MNI template (197 x 233 x 189): label, export NIfTI, import, eval.

Run by hand (not in CI)::

    uv run python bench/volume_bench.py

Labels come from the template's grey/white-matter maps thresholded at 0.5,
written slice by slice into a project's label volume. Prints the time of each
step and the peak of Python allocations (tracemalloc) during the export, with
the store's chunk cache held to four slices.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np


def main() -> None:
    import nibabel as nib

    from segcore.formats.base import ExportItem
    from segcore.formats.exporter import export
    from segcore.formats.volume import volume_geometry
    from segcore.formats.volume_import import import_volume
    from segcore.jobs import run_to_end
    from segcore.labels.schema import UNLABELLED, make_classes
    from segcore.labels.store import LabelStore
    from segcore.metrics.volume import compare_volumes
    from segcore.project import Project
    from segcore.sampledata import fetch

    t1, gm, wm = fetch("nifti_t1"), fetch("nifti_gm"), fetch("nifti_wm")
    g: Any = nib.load(gm, keep_file_open=True)
    w: Any = nib.load(wm, keep_file_open=True)
    classes = make_classes(["grey matter", "white matter"])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = Project.create(root / "p", classes=classes)
        entry = project.add_image(t1)
        store = project.label_store(entry.id)
        geometry = volume_geometry(t1)
        start = time.perf_counter()
        for z in range(entry.depth):
            plane = np.full(geometry.shape[:2], UNLABELLED, np.uint8)
            plane[np.asarray(g.dataobj[:, :, z]) > 127] = 0
            plane[np.asarray(w.dataobj[:, :, z]) > 127] = 1
            store.plane(z).write("semantic", 0, 0, geometry.to_plane(plane))
        project.save()
        label_s = time.perf_counter() - start
        print(f"label {entry.depth} slices: {label_s:.2f} s; {project.image(entry.id).slices_text}")
        project.close()

        labels = LabelStore.open(root / "p" / "labels" / f"{entry.id}.zarr", read_only=True,
                                 cache_bytes=4 * 197 * 233)  # fmt: skip
        labels.classes = tuple(classes)
        tracemalloc.start()
        start = time.perf_counter()
        paths = run_to_end(export([ExportItem("mni", labels, source=t1)], "nifti", root / "out"))
        export_s = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        labels.close()
        out = next(p for p in paths if p.name.endswith(".nii.gz"))
        volume_mib = 197 * 233 * 189 / 2**20
        print(
            f"export NIfTI: {export_s:.2f} s, peak {peak / 2**20:.2f} MiB "
            f"(uint8 volume {volume_mib:.1f} MiB), {out.stat().st_size} bytes"
        )

        other = Project.create(root / "q", classes=classes)
        again = other.add_image(t1)
        start = time.perf_counter()
        voxels = run_to_end(import_volume(other, again.id, out, "nifti"))
        print(f"import NIfTI: {time.perf_counter() - start:.2f} s, {voxels} voxels")
        other.close()

        written: Any = nib.load(out, keep_file_open=True)
        start = time.perf_counter()
        scores = run_to_end(
            compare_volumes(
                lambda z: np.asarray(written.dataobj[:, :, z]),
                lambda z: np.asarray(written.dataobj[:, :, z]),
                depth=189,
                spacing=(1.0, 1.0, 1.0),
            )
        )
        print(f"eval (volume against itself): {time.perf_counter() - start:.2f} s, "
              f"Dice {[round(s.dice, 4) for s in scores]}")  # fmt: skip


if __name__ == "__main__":
    main()
