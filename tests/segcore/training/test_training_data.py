"""Training data from folders and from projects; bad folders refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from segcore.errors import TrainingError
from segcore.labels.box import Box
from segcore.labels.schema import UNLABELLED, make_classes
from segcore.project import Project
from segcore.training.data import data_from_folders, data_from_project


def _pair(
    tmp_path: Path, image: np.ndarray, mask: np.ndarray, name: str = "a"
) -> tuple[Path, Path]:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(exist_ok=True)
    masks.mkdir(exist_ok=True)
    Image.fromarray(image).save(images / f"{name}.png")
    tifffile.imwrite(masks / f"{name}.tif", mask)
    return images, masks


def test_folders_pair_by_name_and_read_windows(tmp_path: Path) -> None:
    mask = np.arange(16, dtype=np.uint8).reshape(4, 4) % 3
    images, masks = _pair(tmp_path, np.zeros((4, 4, 3), np.uint8), mask)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(images / "b.png")  # no mask
    data = data_from_folders(images, masks, classes=["x", "y", "z"])
    try:
        assert [item.name for item in data.images] == ["a.png"]
        window = data.images[0].labels.read("semantic", 2, 2, 4, 4)
        np.testing.assert_array_equal(window[:2, :2], mask[2:, 2:])
        assert (window[2:] == UNLABELLED).all() and (window[:, 2:] == UNLABELLED).all()
        assert [c.name for c in data.classes or ()] == ["x", "y", "z"]
    finally:
        data.close()


def test_folders_refuse_bad_input(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no such folder"):
        data_from_folders(tmp_path / "nope", tmp_path)
    images, masks = _pair(tmp_path, np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4), np.uint8))
    with pytest.raises(TrainingError, match="mask is 4x5 but a.png is 4x4"):
        data_from_folders(images, masks)
    (masks / "a.tif").unlink()
    with pytest.raises(TrainingError, match="has a mask of the same name"):
        data_from_folders(images, masks)


def test_instance_masks_refused_when_read(tmp_path: Path) -> None:
    mask = np.zeros((4, 4), np.uint16)
    mask[0, 0] = 300
    images, masks = _pair(tmp_path, np.zeros((4, 4, 3), np.uint8), mask)
    data = data_from_folders(images, masks)
    try:
        with pytest.raises(TrainingError, match="instance mask"):
            data.images[0].labels.read("semantic", 0, 0, 4, 4)
    finally:
        data.close()


def test_project_images_with_labels(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "b.png")
    project = Project.create(tmp_path / "p", classes=make_classes(["bg", "fg"]))
    a = project.add_image(tmp_path / "a.png")
    project.add_image(tmp_path / "b.png")  # never labelled: left out
    project.label_store(a.id).write("semantic", 4, 4, np.ones((2, 3), np.uint8))
    project.save()
    data = data_from_project(project, corrected={a.id: [Box(0, 0, 8, 8)]})
    try:
        assert [item.name for item in data.images] == [a.id]
        assert data.images[0].corrected == (Box(0, 0, 8, 8),)
        window = data.images[0].labels.read("semantic", 4, 4, 3, 3)
        assert window[:2].tolist() == [[1, 1, 1], [1, 1, 1]]
        assert (window[2] == UNLABELLED).all()
        assert [c.name for c in data.classes or ()] == ["bg", "fg"]
    finally:
        data.close()
        project.close()
