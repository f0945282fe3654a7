"""``tessera train`` on folders and on a project; bad input exits 2 with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segcore.cli import main
from segcore.labels.schema import make_classes
from segcore.models.files import load_model
from segcore.project import Project
from segcore.synthetic import make_scene

FAST = ["--epochs", "1", "--tile", "32", "--batch", "4", "--tiles-per-epoch", "8"]
FAST += ["--threads", "1"]


def _folders(tmp_path: Path, mask: np.ndarray | None = None) -> tuple[Path, Path]:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    scene = make_scene(64, 64, seed=18)
    Image.fromarray(scene.image).save(images / "a.png")
    Image.fromarray(scene.semantic if mask is None else mask).save(masks / "a.png")
    Image.fromarray(scene.image).save(images / "unlabelled.png")  # no mask: skipped
    return images, masks


def test_train_on_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = _folders(tmp_path)
    out = tmp_path / "m.safetensors"
    code = main(["train", "--images", str(images), "--masks", str(masks), *FAST, "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "best validation mIoU" in captured.out and f"saved {out}" in captured.out
    assert "IoU" in captured.out and "epoch 1" in captured.err and "100%" in captured.err
    meta = load_model(out).meta
    # ids 0..4 are labelled; without --classes they are named "class 0" ..
    assert [c.name for c in meta.classes] == [f"class {i}" for i in range(5)]
    assert len(meta.history) == 1


def test_train_on_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = make_scene(64, 64, seed=18)
    Image.fromarray(scene.image).save(tmp_path / "scene.png")
    names = ["grass", "water", "road", "building", "tree"]
    project = Project.create(tmp_path / "proj", classes=make_classes(names))
    entry = project.add_image(tmp_path / "scene.png")
    sparse = np.full((64, 64), 255, np.uint8)
    sparse[::4] = scene.semantic[::4]  # every fourth row labelled
    project.label_store(entry.id).write("semantic", 0, 0, sparse)
    project.save()
    project.close()
    out = tmp_path / "m.safetensors"
    code = main(["train", "--project", str(tmp_path / "proj"), *FAST, "--quiet", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    assert [c.name for c in load_model(out).meta.classes] == names


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "m.safetensors")
    assert main(["train", "--images", str(tmp_path), *FAST, "-o", out]) == 2
    assert "give --project DIR, or --images DIR with --masks DIR" in capsys.readouterr().err
    images, masks = _folders(tmp_path, mask=np.ones((64, 64), np.uint8))
    assert main(["train", "--images", str(images), "--masks", str(masks), "-o", out]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("tessera train: only one class is labelled") and "Traceback" not in err
    assert not Path(out).exists()


def test_binary_255_masks_explained_then_read_with_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = make_scene(64, 64, seed=18)
    binary = np.where(scene.semantic >= 2, 255, 0).astype(np.uint8)
    images, masks = _folders(tmp_path, mask=binary)
    out = tmp_path / "m.safetensors"
    args = ["train", "--images", str(images), "--masks", str(masks), "--classes", "bg,water"]
    assert main([*args, *FAST, "-o", str(out)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("tessera train: the masks of a.png hold only 0 and 255")
    assert "--binary-255" in last
    assert not out.exists()
    assert main([*args, "--binary-255", *FAST, "--quiet", "-o", str(out)]) == 0
    captured = capsys.readouterr().out
    assert "water" in captured and "labelled pixels:" in captured
    assert [c.name for c in load_model(out).meta.classes] == ["bg", "water"]


def test_labels_only_on_nodata_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tifffile

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    pixels = np.full((32, 32, 3), 0.2, np.float32)
    pixels[:16] = np.nan
    tifffile.imwrite(images / "a.tif", pixels)
    mask = np.full((32, 32), 255, np.uint8)
    mask[:8], mask[8:16] = 0, 1
    tifffile.imwrite(masks / "a.tif", mask)
    out = tmp_path / "m.safetensors"
    code = main(["train", "--images", str(images), "--masks", str(masks), *FAST, "-o", str(out)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("tessera train: all 512 labelled pixels of a.tif lie")
    assert not out.exists()


def test_summary_warns_about_a_rare_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mask = np.zeros((64, 64), np.uint8)
    mask[10, 5:35] = 1  # 30 pixels of a thin class
    images, masks = _folders(tmp_path, mask=mask)
    out = tmp_path / "m.safetensors"
    code = main(
        ["train", "--images", str(images), "--masks", str(masks), "--classes", "field,wire"]
        + [*FAST, "--quiet", "-o", str(out)]
    )
    captured = capsys.readouterr().out
    assert code == 0
    assert "warning: class 'wire' has only 30 labelled pixel(s)" in captured
    assert "wire" in captured.split("warning")[0]  # the per-class line comes first


def test_pretrained_offline_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.error import URLError

    import huggingface_hub
    import torch.hub

    def refuse(*args: object, **kwargs: object) -> None:
        raise URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    images, masks = _folders(tmp_path)
    out = tmp_path / "m.safetensors"
    args = ["train", "--images", str(images), "--masks", str(masks), "--arch", "unet"]
    code = main([*args, "--encoder", "resnet18", "--pretrained", *FAST, "-o", str(out)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "smp-hub--resnet18.imagenet.safetensors" in last
    assert "place it as" in last and not out.exists()
