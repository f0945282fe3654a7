"""Label volumes out and back: NIfTI on the MNI template's grid, DICOM-SEG of a real CT."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest

from segcore.cli import main
from segcore.errors import FormatError
from segcore.formats.base import ExportItem
from segcore.formats.exporter import export
from segcore.formats.project_io import project_items
from segcore.formats.volume import volume_geometry
from segcore.formats.volume_import import import_volume
from segcore.jobs import run_to_end
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.labels.store import LabelStore
from segcore.project import Project

CLASSES = make_classes(["grey matter", "white matter"])


def tissue_planes(sample: Callable[[str], Path]) -> tuple[Path, list[np.ndarray]]:
    """The MNI T1 and its grey/white-matter maps thresholded at 0.5, as voxel slices
    (the maps store probability x 255 as uint8)."""
    gm: Any = nib.load(sample("nifti_gm"), keep_file_open=True)
    wm: Any = nib.load(sample("nifti_wm"), keep_file_open=True)
    slices = []
    for k in range(gm.shape[2]):
        out = np.zeros(gm.shape[:2], np.uint8)
        out[np.asarray(gm.dataobj[:, :, k]) > 127] = 1
        out[np.asarray(wm.dataobj[:, :, k]) > 127] = 2
        slices.append(out)
    return sample("nifti_t1"), slices


def label_mni(project: Project, image_id: str, slices: list[np.ndarray]) -> None:
    store = project.label_store(image_id)
    geometry = volume_geometry(project.image(image_id).path)
    for z, voxels in enumerate(slices):
        plane = geometry.to_plane(voxels).astype(np.int16) - 1
        plane[plane < 0] = UNLABELLED
        store.plane(z).write("semantic", 0, 0, plane.astype(np.uint8))
    project.save()


@pytest.fixture(scope="module")
def mni(sample: Callable[[str], Path]) -> tuple[Path, list[np.ndarray]]:
    return tissue_planes(sample)


def test_mni_tissue_volume_exports_as_nifti_on_the_template_grid_and_comes_back(
    tmp_path: Path, mni: tuple[Path, list[np.ndarray]]
) -> None:
    t1, slices = mni
    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(t1)
    assert (entry.width, entry.height, entry.depth) == (197, 233, 189)
    label_mni(project, entry.id, slices)
    labelled = sum(1 for s in slices if s.any())
    assert project.image(entry.id).slices_text == f"{labelled} of 189 slices labelled"
    paths = run_to_end(export(project_items(project), "nifti", tmp_path / "out"))
    out = next(p for p in paths if p.name.endswith(".nii.gz"))
    written: Any = nib.load(out)
    source: Any = nib.load(t1)
    np.testing.assert_allclose(written.affine, source.affine)
    assert nib.aff2axcodes(written.affine) == nib.aff2axcodes(source.affine) == ("R", "A", "S")
    assert written.header.get_zooms() == source.header.get_zooms()
    assert written.get_data_dtype() == np.uint8 and written.header["intent_code"] == 1002
    np.testing.assert_array_equal(np.asarray(written.dataobj), np.stack(slices, axis=-1))
    names = [
        c["name"] for c in json.loads((tmp_path / "out" / "classes.json").read_text())["classes"]
    ]
    assert names == ["grey matter", "white matter"]
    # back into an empty image of a second project: the same voxels
    other = Project.create(tmp_path / "q", classes=CLASSES)
    again = other.add_image(t1)
    voxels = run_to_end(import_volume(other, again.id, out, "nifti"))
    assert voxels == sum(int(np.count_nonzero(s)) for s in slices)
    geometry = volume_geometry(t1)
    store = other.label_store(again.id)
    for z in (0, 60, 94, 188):
        plane = store.plane(z).read("semantic", 0, 0, 197, 233)
        expected = slices[z].astype(np.int16) - 1
        np.testing.assert_array_equal(
            geometry.to_voxels(plane), np.where(expected < 0, UNLABELLED, expected)
        )
    project.close()
    other.close()


def test_exporting_the_197x233x189_volume_holds_a_few_slices(
    tmp_path: Path, mni: tuple[Path, list[np.ndarray]]
) -> None:
    t1, slices = mni
    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(t1)
    label_mni(project, entry.id, slices)
    project.close()
    plane_bytes = 197 * 233
    store = LabelStore.open(
        tmp_path / "p" / "labels" / f"{entry.id}.zarr", read_only=True, cache_bytes=4 * plane_bytes
    )
    store.classes = tuple(CLASSES)
    item = ExportItem("mni", store, source=t1)
    tracemalloc.start()
    run_to_end(export([item], "nifti", tmp_path / "out"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # measured 1.2 MB: the store's cache keeps at least 8 chunks, zlib its window, a few
    # slices in flight; the uint8 volume is 8.7 MB (and its instance layer 35 MB)
    volume_bytes = plane_bytes * 189
    assert peak < 32 * plane_bytes < volume_bytes / 5, f"peak {peak} bytes"
    store.close()


def _write_like(
    t1: Path,
    path: Path,
    *,
    affine: np.ndarray | None = None,
    shape: tuple[int, int, int] | None = None,
    value: int = 1,
) -> Path:
    source: Any = nib.load(t1)
    data = np.zeros(shape or source.shape, np.uint8)
    data[50:60, 50:60, 40:45] = value
    nib.save(nib.Nifti1Image(data, source.affine if affine is None else affine), path)
    return path


def test_a_label_volume_on_another_grid_imports_nothing(
    tmp_path: Path, mni: tuple[Path, list[np.ndarray]]
) -> None:
    t1, _ = mni
    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(t1)
    moved = np.array(nib.load(t1).affine)  # type: ignore[attr-defined]
    moved[0, 3] += 2.0
    cases = {
        "affine": (_write_like(t1, tmp_path / "moved.nii.gz", affine=moved), "affine"),
        "shape": (_write_like(t1, tmp_path / "small.nii.gz", shape=(197, 233, 100)), "100 voxels"),
        "value": (_write_like(t1, tmp_path / "many.nii.gz", value=7), "label value 7"),
    }
    for path, words in cases.values():
        with pytest.raises(FormatError) as err:
            run_to_end(import_volume(project, entry.id, path, "nifti"))
        assert str(path) in str(err.value) and words in str(err.value)
        assert "\n" not in str(err.value)
    assert project.label_store(entry.id).labelled_pixels == 0
    project.close()


def test_dicom_seg_of_a_real_ct_references_its_series_and_comes_back(
    tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    import highdicom as hd

    ct = sample("dicom_ct_multiframe")
    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(ct)
    assert entry.depth == 2
    store = project.label_store(entry.id)
    store.plane(0).write("semantic", 100, 120, np.full((40, 60), 0, np.uint8))
    store.plane(1).write("semantic", 200, 220, np.full((30, 20), 1, np.uint8))
    project.close()
    code = main(
        [
            "export",
            "--format",
            "dicom-seg",
            "--project",
            str(tmp_path / "p"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    project = Project.open(tmp_path / "p")
    seg_path = next((tmp_path / "out").glob("*.seg.dcm"))
    ds = pydicom.dcmread(seg_path)
    source = pydicom.dcmread(ct, stop_before_pixels=True)
    assert ds.Modality == "SEG"
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    seg = hd.seg.segread(seg_path)
    assert [seg.get_segment_description(n).segment_label for n in seg.get_segment_numbers()] == [
        "grey matter",
        "white matter",
    ]
    lab = seg.get_segment_description(2).RecommendedDisplayCIELabValue
    colour = hd.color.CIELabColor.from_dicom_value(lab).to_rgb()
    assert np.abs(np.array(colour) - np.array(CLASSES[1].color[:3])).max() <= 2
    other = Project.create(tmp_path / "q", classes=CLASSES)
    again = other.add_image(ct)
    voxels = run_to_end(import_volume(other, again.id, seg_path, "dicom-seg"))
    assert voxels == 40 * 60 + 30 * 20
    back = other.label_store(again.id)
    for z in (0, 1):
        np.testing.assert_array_equal(
            back.plane(z).read("semantic", 0, 0, 512, 512),
            project.label_store(entry.id).plane(z).read("semantic", 0, 0, 512, 512),
        )
    # the same SEG offered to a CT of another series: one line naming the file, nothing written
    copy = tmp_path / "other_series.dcm"
    shutil.copy(ct, copy)
    changed = pydicom.dcmread(copy)
    changed.SeriesInstanceUID = pydicom.uid.generate_uid()
    changed.save_as(copy)
    third = other.add_image(copy)
    with pytest.raises(FormatError, match="segments series") as err:
        run_to_end(import_volume(other, third.id, seg_path, "dicom-seg"))
    assert str(seg_path) in str(err.value)
    assert other.label_store(third.id).labelled_pixels == 0
    project.close()
    other.close()


def test_cli_refuses_dicom_seg_of_a_nifti_image_in_one_line(
    tmp_path: Path, mni: tuple[Path, list[np.ndarray]], capsys: pytest.CaptureFixture[str]
) -> None:
    t1, _ = mni
    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(t1)
    project.label_store(entry.id).plane(3).write("semantic", 0, 0, np.zeros((2, 2), np.uint8))
    project.close()
    code = main(
        [
            "export",
            "--format",
            "dicom-seg",
            "--project",
            str(tmp_path / "p"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("export NIfTI for this image" in line for line in err)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_tiff_z_stack_exports_with_its_spacing_and_too_large_volumes_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: Callable[[str], Path]
) -> None:
    import tifffile

    from segcore.formats import dicomseg, nifti_labels

    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((3, 20, 30), np.uint8), photometric="minisblack")
    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(stack)
    assert entry.depth == 3
    project.label_store(entry.id).plane(2).write("semantic", 4, 5, np.ones((2, 3), np.uint8))
    items = project_items(project)
    paths = run_to_end(export(items, "nifti", tmp_path / "out"))
    written: Any = nib.load(next(p for p in paths if p.suffix == ".gz"))
    data = np.asarray(written.dataobj)
    assert data.shape == (30, 20, 3) and (data[4:7, 5:7, 2] == 2).all() and data.sum() == 12
    # too large for NIfTI-1 (int16 dims) or one DICOM-SEG: one line naming the image
    monkeypatch.setattr(nifti_labels, "NIFTI1_MAX_DIM", 25)
    with pytest.raises(FormatError, match="too large for a NIfTI-1 file") as err:
        run_to_end(export(items, "nifti", tmp_path / "big"))
    assert str(stack) in str(err.value) and not (tmp_path / "big").exists()
    with pytest.raises(FormatError, match="DICOM-SEG references a DICOM series"):
        run_to_end(export(items, "dicom-seg", tmp_path / "seg"))
    monkeypatch.setattr(dicomseg, "MAX_SEG_BYTES", 10)
    ct = project.add_image(sample("dicom_ct_multiframe"))
    project.label_store(ct.id).plane(1).write("semantic", 0, 0, np.ones((2, 2), np.uint8))
    with pytest.raises(FormatError, match="too large for one DICOM-SEG file"):
        run_to_end(export(project_items(project, [ct.id]), "dicom-seg", tmp_path / "seg2"))
    assert not (tmp_path / "seg2").exists()
    project.close()


def test_cli_imports_a_nifti_label_volume_into_one_image(
    tmp_path: Path, mni: tuple[Path, list[np.ndarray]], capsys: pytest.CaptureFixture[str]
) -> None:
    t1, _ = mni
    project = Project.create(tmp_path / "p", classes=CLASSES)
    entry = project.add_image(t1)
    project.close()
    good = _write_like(t1, tmp_path / "good.nii.gz", value=2)
    args = ["import", str(good), "--format", "nifti", "--project", str(tmp_path / "p")]
    assert main([*args, "--image", entry.id]) == 0
    assert f"-> {entry.id}: 500 labelled voxels" in capsys.readouterr().out
    assert main(args) == 2  # which image?
    assert f"--image (one of {entry.id})" in capsys.readouterr().err
    small = _write_like(t1, tmp_path / "small.nii.gz", shape=(197, 233, 100))
    assert main(["import", str(small), "--format", "nifti", "--project", str(tmp_path / "p"),
                 "--image", entry.id]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert any(str(small) in line and "belongs to" in line for line in err)
    project = Project.open(tmp_path / "p")
    assert project.label_store(entry.id).labelled_pixels == 500  # the bad file changed nothing
    project.close()
