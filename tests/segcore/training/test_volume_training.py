"""Training data from a label volume: one sample image per labelled slice, none from the rest."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from segcore.labels.schema import make_classes
from segcore.project import Project
from segcore.training.data import data_from_project


def test_only_labelled_slices_give_training_images(tmp_path: Path) -> None:
    data = np.arange(30 * 20 * 5, dtype=np.int16).reshape(30, 20, 5)
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "v.nii.gz")
    project = Project.create(tmp_path / "p", classes=make_classes(["a", "b"]))
    entry = project.add_image(tmp_path / "v.nii.gz")
    store = project.label_store(entry.id)
    store.plane(1).write("semantic", 0, 0, np.zeros((4, 4), np.uint8))
    store.plane(3).write("semantic", 10, 10, np.ones((2, 3), np.uint8))
    project.save()
    training = data_from_project(project)
    names = [item.name for item in training.images]
    assert names == [f"{entry.id}@1", f"{entry.id}@3"]
    third = training.images[1]
    np.testing.assert_array_equal(third.labels.read("semantic", 10, 10, 3, 2), np.ones((2, 3)))
    # the sample image is slice 3 of the volume, as the image reader shows it
    expected = data[:, ::-1, 3].T  # rows run up the second voxel axis
    np.testing.assert_array_equal(third.image.read_region(0, 0, 0, 30, 20)[..., 0], expected)
    assert third.labelled_hint is not None and third.labelled_hint()
    training.close()
    project.close()
