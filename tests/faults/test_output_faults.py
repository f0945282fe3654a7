"""Outputs never replace inputs, are whole or absent, and odd values get one line.

Most cases are ones the issue #13 campaign found on main, where they failed as noted
(the others guard what already held: odd values that were refused, the journal's umask):

* ``export --format geotiff --out DIR`` with DIR holding the source image wrote the
  mask over the image (exit 0); an export into a used folder replaced its files;
* ``infer -o X`` with X the input replaced the input, also through a symlink or a
  hard link; ``-o o.tif --confidence o.tif`` silently lost one output;
* ``eval --json gt.png`` overwrote the ground truth; ``--json`` into a missing
  folder was a traceback after all the work;
* a full disk under ``infer`` with a georeferenced output gave "wrote out.tif", exit
  0 and a 0-byte file; with two outputs the first was renamed into place before the
  second failed; a killed run's ``.part`` files stayed for ever;
* ``eval`` on a truncated TIFF, ``--window 0``: tracebacks; a NaN prediction was
  scored as class 0; a class-file path was taken as a class name; ``--bands 1``
  suggested for a one-band image and a three-band model;
* the pickle refusal repeated PyTorch's "weights_only=False" advice; model files
  were written 0600 whatever the umask; an ONNX export child outlived its parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from output_fault_helpers import (
    BIG,
    Outcome,
    assert_refused,
    class_mask,
    cli,
    cli_with_small_disk,
    georeferenced,
    hashes,
    parts,
    sha,
)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segcore.models.create import create_model
    from segcore.models.files import save_model

    module, meta = create_model("small_unet", classes=3, in_channels=3)
    return save_model(tmp_path_factory.mktemp("model") / "m.safetensors", module, meta)


@pytest.fixture
def work(tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with an image, masks and the model; the current directory."""
    georeferenced(tmp_path / "scene.tif")
    class_mask(tmp_path / "gt.png")
    class_mask(tmp_path / "pred.png", seed=2)
    (tmp_path / "m.safetensors").write_bytes(model.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- no command writes over a file it reads ---------------------------------------------


def test_infer_refuses_its_input_as_output_directly_and_through_links(work: Path) -> None:
    (work / "link.tif").symlink_to("scene.tif")
    os.link(work / "scene.tif", work / "hard.tif")
    before = hashes(work)
    for image, out in [
        ("scene.tif", "scene.tif"),
        ("scene.tif", "./link.tif"),  # the output is a link to the input
        ("link.tif", "scene.tif"),  # the input is a link to the output
        ("hard.tif", "scene.tif"),  # one file, two names
        ("scene.tif", "m.safetensors"),
    ]:
        assert_refused(cli("infer", image, "-m", "m.safetensors", "-o", out), Path(out).name)
    assert hashes(work) == before
    assert parts(work) == []


def test_infer_refuses_two_outputs_on_one_path(work: Path) -> None:
    line = assert_refused(
        cli("infer", "scene.tif", "-m", "m.safetensors", "-o", "o.tif", "--confidence", "./o.tif"),
        "o.tif",
    )
    assert "same file" in line
    assert not (work / "o.tif").exists()


def test_eval_json_never_replaces_an_input_and_its_folder_is_checked_first(work: Path) -> None:
    before = hashes(work)
    assert_refused(
        cli("eval", "--pred", "pred.png", "--gt", "gt.png", "--json", "gt.png"), "gt.png"
    )
    assert_refused(
        cli("eval", "--pred", "pred.png", "--gt", "gt.png", "--json", "missing/s.json"), "missing"
    )
    assert_refused(cli("eval", "--pred", "pred.png", "--gt", "gt.png", "--json", "."), "folder")
    assert hashes(work) == before
    ok = cli("eval", "--pred", "pred.png", "--gt", "gt.png", "--json", "scores.json")
    assert ok.code == 0 and (work / "scores.json").is_file()
    assert parts(work) == []


def test_eval_json_into_a_read_only_folder_fails_before_the_work(work: Path) -> None:
    folder = work / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:  # root writes through file modes: a read-only file system stops it
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=8k", "tmpfs", str(folder)],
            capture_output=True,
        )
        if mounted.returncode != 0:
            pytest.skip("running as root and mounting a read-only tmpfs is not permitted here")
    try:
        out = cli("eval", "--pred", "pred.png", "--gt", "gt.png", "--json", "ro/s.json")
    finally:
        if os.geteuid() != 0:
            folder.chmod(0o755)
        else:
            subprocess.run(["umount", str(folder)], capture_output=True)
    line = assert_refused(out, "ro")
    assert "comparing" not in out.err  # refused before the comparison ran
    assert "write" in line


def test_export_never_replaces_its_source_image(work: Path) -> None:
    class_mask(work / "mask.png")
    before = hashes(work)
    out = cli("export", "--mask", "mask.png", "--image", "scene.tif", "-f", "geotiff", "--out", ".")
    assert_refused(out, "scene.tif")
    assert_refused(cli("export", "--mask", "mask.png", "-f", "png", "--out", "."), "mask.png")
    assert hashes(work) == before
    assert parts(work) == []


def test_export_into_a_used_folder_needs_overwrite(work: Path) -> None:
    class_mask(work / "mask.png")
    args = ("export", "--mask", "mask.png", "--image", "scene.tif", "-f", "geotiff", "--out", "ex")
    assert cli(*args).code == 0
    first = hashes(work / "ex")
    assert_refused(cli(*args), "already exists", "--overwrite")
    assert hashes(work / "ex") == first
    class_mask(work / "mask.png", seed=7)
    assert cli(*args, "--overwrite").code == 0
    assert hashes(work / "ex")["scene.tif"] != first["scene.tif"]


def test_project_export_never_replaces_a_registered_image(work: Path) -> None:
    from segcore.labels.schema import make_classes
    from segcore.project import Project

    project = Project.create(work / "proj", classes=make_classes(["a", "b"]))
    project.add_image(work / "scene.tif")
    project.close()
    image = sha(work / "scene.tif")
    out = cli("export", "--project", "proj", "-f", "geotiff", "--out", ".", "--overwrite")
    assert_refused(out, "scene.tif")  # --overwrite never reaches an input
    assert sha(work / "scene.tif") == image
    assert not (work / "classes.json").exists()
    assert_refused(
        cli("export", "--project", "proj", "-f", "png", "--out", "proj/labels"), "labels"
    )
    assert parts(work) == []


def test_train_and_model_export_refuse_their_inputs(work: Path) -> None:
    before = hashes(work)
    out = cli(
        "train", "--images", ".", "--masks", ".", "--from", "m.safetensors", "-o", "m.safetensors"
    )
    assert_refused(out, "m.safetensors", "--from")
    assert_refused(
        cli("models", "export", "m.safetensors", "--format", "onnx", "-o", "x/m.onnx"), "x"
    )
    assert hashes(work) == before


# -- outputs are all or nothing -----------------------------------------------------------


@pytest.mark.parametrize(
    "outputs",
    [["-o", "out.tif"], ["-o", "out.tif", "--confidence", "conf.tif"], ["-o", "out.png"]],
    ids=["geotiff", "two-outputs", "png"],
)
def test_a_full_disk_leaves_no_output_and_says_so(work: Path, outputs: list[str]) -> None:
    georeferenced(work / "big.tif", side=BIG)
    (work / "out.tif").write_bytes(b"an earlier result")  # must survive the failed run
    before = hashes(work)
    run = cli_with_small_disk(512, work, "infer", "big.tif", "-m", "m.safetensors", *outputs)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    (last,) = Outcome(run.returncode, run.stderr).lines  # libtiff's own lines silenced
    assert last.startswith("tessera infer: ") and "failed" in last, last
    assert "wrote" not in run.stderr
    assert hashes(work) == before  # nothing new under a final name, nothing replaced
    assert parts(work) == []


def test_a_full_disk_under_a_geotiff_export_leaves_no_dataset(work: Path) -> None:
    georeferenced(work / "big.tif", side=BIG)
    class_mask(work / "mask.png", side=BIG)
    before = hashes(work)
    run = cli_with_small_disk(
        4096, work, "export", "--mask", "mask.png", "--image", "big.tif", "-f", "geotiff",
        "--out", "ex",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    (last,) = Outcome(run.returncode, run.stderr).lines  # no "_tiffWriteProc: ..." before it
    assert last.startswith("tessera export: ex/big.tif: writing the TIFF failed"), last
    assert hashes(work) == before and not (work / "ex").exists()


def test_a_full_tmpfs_leaves_no_output(work: Path, tmp_path: Path) -> None:
    """The same on a real, tiny file system where this machine lets us mount one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here; the capped-file test covers it")
    try:
        georeferenced(work / "big.tif", side=BIG)
        out = cli("infer", "big.tif", "-m", "m.safetensors", "-o", disk / "out.tif",
                  "--confidence", disk / "conf.tif")  # fmt: skip
        assert_refused(out, "failed")
        assert sorted(p.name for p in disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_stale_part_files_are_removed_by_the_next_run(work: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)  # a process that has ended
    stale = work / f".out.{pid}-0123abcd.part.tif"
    stale.write_bytes(b"half a class map")
    live = work / f".other.{os.getpid()}-89abcdef.part.tif"  # a run still going
    live.write_bytes(b"being written")
    old = work / ".older.0123abcd.part.tif"  # from before the pid was in the name
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    assert cli("infer", "scene.tif", "-m", "m.safetensors", "-o", "out.tif").code == 0
    assert not stale.exists() and not old.exists()
    assert live.exists()
    assert (work / "out.tif").is_file()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the child in /proc")
def test_an_export_child_dies_with_its_parent(model: Path, tmp_path: Path) -> None:
    """kill -9 of a process exporting a model to ONNX ends the exporting child too."""
    parent_code = textwrap.dedent(
        f"""
        import time
        from segcore.models.onnx_cache import onnx_copy
        job = onnx_copy({str(model)!r})
        next(job), next(job)  # the second step comes while the child exports
        print("exporting", flush=True)
        time.sleep(120)
        """
    )
    env = {**os.environ, "TESSERA_CACHE_DIR": str(tmp_path / "cache")}  # no copy yet
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True, env=env,
        cwd=tmp_path,
    )  # fmt: skip
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == "exporting"
    children = [
        int(pid)
        for task in Path(f"/proc/{parent.pid}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    assert children
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 3  # the old child went on exporting for many seconds
    while time.monotonic() < deadline and any(_running(c) for c in children):
        time.sleep(0.05)
    alive = [c for c in children if _running(c)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and " Z " in stat.read_text())  # a zombie has ended


# -- one line for every expected failure ----------------------------------------------------


def test_eval_refuses_damaged_and_non_integer_masks(work: Path) -> None:
    import tifffile

    values = (np.random.default_rng(0).random((600, 600)) * 3).astype(np.uint8)
    tifffile.imwrite(work / "gt.tif", values, tile=(256, 256), compression="zlib")
    data = (work / "gt.tif").read_bytes()
    (work / "cut.tif").write_bytes(data[: len(data) // 2])
    nan = values.astype(np.float32)
    nan[5, 7] = np.nan
    np.save(work / "nan.npy", nan)
    half = values.astype(np.float32)
    half[1, 2] = 1.5
    np.save(work / "half.npy", half)
    assert_refused(cli("eval", "--pred", "cut.tif", "--gt", "gt.tif"), "cut.tif", "truncated")
    assert_refused(cli("eval", "--pred", "nan.npy", "--gt", "gt.tif"), "nan.npy", "x=7, y=5")
    assert_refused(cli("eval", "--pred", "half.npy", "--gt", "gt.tif"), "half.npy", "1.5")


def test_a_class_file_path_is_never_taken_as_a_class_name(work: Path) -> None:
    out = cli("eval", "--pred", "pred.png", "--gt", "gt.png", "--classes", "conf/classes.json")
    assert_refused(out, "conf/classes.json", "not found")
    (work / "names.json").write_text('{"classes": []}')
    assert_refused(cli("eval", "--pred", "pred.png", "--gt", "gt.png", "--classes", "names.json"),
                   "names.json")  # fmt: skip


def test_band_hints_only_suggest_what_can_work(work: Path) -> None:
    import tifffile

    tifffile.imwrite(work / "gray.tif", np.zeros((64, 64), np.uint8))
    line = assert_refused(
        cli("infer", "gray.tif", "-m", "m.safetensors", "-o", "o.tif"), "gray.tif"
    )
    assert "--bands" not in line and "has only 1" in line
    assert_refused(
        cli("infer", "scene.tif", "-m", "m.safetensors", "-o", "o.tif", "--bands", "4"), "1..3"
    )


ODD_OPTIONS = [
    ("eval", "--pred", "pred.png", "--gt", "gt.png", "--window", "0"),
    ("eval", "--pred", "pred.png", "--gt", "gt.png", "--window", "-3"),
    ("eval", "--pred", "pred.png", "--gt", "gt.png", "--window", "big"),
    ("eval", "--pred", "pred.png", "--gt", "gt.png", "--pred-instances", "gt.png"),
    (
        "eval",
        "--pred",
        "pred.png",
        "--gt",
        "gt.png",
        "--pred-instances",
        "gt.png",
        "--gt-instances",
        "gt.png",
        "--things",
        "x",
    ),  # fmt: skip
    ("eval", "--pred", ".", "--gt", "gt.png"),
    ("export", "--mask", "gt.png", "-f", "png", "--out", "e", "--window", "0"),
    ("export", "--mask", "gt.png", "-f", "png", "--out", "e", "--simplify", "nan"),
    ("export", "--mask", "gt.png", "-f", "png", "--out", "e", "--things", "1,x"),
    ("export", "--mask", "gt.png", "-f", "png", "--out", "gt.png"),
    ("infer", "scene.tif", "-m", "m.safetensors", "-o", "o.tif", "--bands", "0"),
    ("infer", "scene.tif", "-m", "m.safetensors", "-o", "o.tif", "--workers", "0"),
    ("infer", "scene.tif", "-m", "m.safetensors", "-o", "missing/o.tif"),
    ("infer", "scene.tif", "-m", ".", "-o", "o.tif"),
    ("models", "export", "m.safetensors", "--format", "onnx", "-o", "x.onnx", "--opset", "0"),
    ("train", "--images", ".", "--masks", ".", "-o", "t.safetensors", "--lr", "nan"),
    ("train", "--images", ".", "--masks", ".", "-o", "t.safetensors", "--minutes", "nan"),
    ("train", "--images", ".", "--masks", ".", "-o", "t.safetensors", "--workers", "-1"),
    ("train", "--images", ".", "--masks", ".", "-o", "t.safetensors", "--tiles-per-epoch", "0"),
    (
        "train",
        "--images",
        ".",
        "--masks",
        ".",
        "-o",
        "t.onnx",
        "--arch",
        "pixel-classifier",
        "--trees",
        "0",
    ),  # fmt: skip
]


@pytest.mark.parametrize("argv", ODD_OPTIONS, ids=[" ".join(a[5:] or a[:3]) for a in ODD_OPTIONS])
def test_odd_option_values_get_one_line(work: Path, argv: tuple[str, ...]) -> None:
    before = hashes(work)
    assert_refused(cli(*argv))
    assert hashes(work) == before


# -- models: the pickle refusal and the umask ---------------------------------------------


class Pickled:
    """Anything but tensors: torch.load(weights_only=True) refuses its global."""


def test_pickle_refusal_gives_no_unsafe_advice(work: Path) -> None:
    import torch

    torch.save({"w": Pickled()}, work / "pickled.pth")
    from segcore.errors import ModelError
    from segcore.models.files import _read_state

    with pytest.raises(ModelError) as caught:
        _read_state(work / "pickled.pth")
    text = str(caught.value)
    assert "weights_only=False" not in text and "weights_only" not in text
    assert "never unpickles" in text and "safetensors" in text


def test_model_files_take_the_users_umask(work: Path) -> None:
    old = os.umask(0o022)
    try:
        assert cli("models", "new", "--arch", "small_unet", "--classes", "2",
                   "--in-channels", "1", "-o", "n.safetensors").code == 0  # fmt: skip
    finally:
        os.umask(old)
    assert (work / "n.safetensors").stat().st_mode & 0o777 == 0o644
    assert sha(work / "n.safetensors")


def test_project_files_take_the_users_umask(work: Path) -> None:
    from segcore.labels.box import Box
    from segcore.labels.edits.paint import paint_rectangle
    from segcore.labels.schema import make_classes
    from segcore.project import Project

    old = os.umask(0o022)
    try:
        project = Project.create(work / "proj", classes=make_classes(["a", "b"]))
        project.add_image(work / "scene.tif")
        editor = project.editor("scene")
        editor.apply(paint_rectangle, Box(0, 0, 4, 4), paint=editor.paint_for(1))
        project.save()
        editor.apply(paint_rectangle, Box(4, 4, 4, 4), paint=editor.paint_for(1))  # journalled
        project.close(save=False)
    finally:
        os.umask(old)
    modes = {
        str(p.relative_to(work / "proj")): p.stat().st_mode & 0o777
        for p in (work / "proj").rglob("*")
        if p.is_file()
    }
    assert modes and set(modes.values()) == {0o644}, modes


def _three_image_project(work: Path) -> list[Path]:
    """A project ``proj`` of images a, b, c (c in ``ex``); returns their paths."""
    from segcore.labels.schema import make_classes
    from segcore.project import Project

    (work / "ex").mkdir()
    images = [georeferenced(work / "a.tif"), georeferenced(work / "b.tif", seed=1)]
    images.append(georeferenced(work / "ex" / "c.tif", seed=2))
    project = Project.create(work / "proj", classes=make_classes(["a", "b"]))
    for image in images:
        project.add_image(image)
    project.close()
    return images


@pytest.mark.parametrize(
    ("fmt", "clash", "extra"),
    [
        ("voc", "SegmentationClass/c.png", ()),  # an earlier export's file, no --overwrite
        ("geotiff", "c.tif", ("--overwrite",)),  # the project's own image c
    ],
    ids=["existing-file", "project-image"],
)
def test_a_clash_on_the_last_image_is_refused_before_any_image_is_written(
    work: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, clash: str, extra: tuple[str, ...]
) -> None:
    from segcore.formats.registry import get_format

    _three_image_project(work)
    if not (work / "ex" / clash).exists():
        (work / "ex" / clash).parent.mkdir(parents=True)
        (work / "ex" / clash).write_bytes(b"an earlier export")
    before = {k: v for k, v in hashes(work).items() if not k.startswith("proj/")}
    folders = sorted(p for p in work.rglob("*") if p.is_dir() and "proj" not in p.parts)
    writer = get_format(fmt).writer
    added: list[str] = []
    real_add = writer.add  # type: ignore[attr-defined]

    def add(self: object, item: Any, staging: Any) -> Any:
        added.append(item.name)
        return real_add(self, item, staging)

    monkeypatch.setattr(writer, "add", add)
    out = cli("export", "--project", "proj", "-f", fmt, "--out", "ex", *extra)
    line = assert_refused(out, f"ex/{clash}")
    assert out.err.count("\n") == 1  # nothing before the line: no progress, no warning
    assert added == []  # no image was computed, not even a and b
    # opening the project may start its label stores; nothing else changed
    assert {k: v for k, v in hashes(work).items() if not k.startswith("proj/")} == before
    assert sorted(p for p in work.rglob("*") if p.is_dir() and "proj" not in p.parts) == folders
    assert parts(work) == []
    assert ("already exists" in line) == (fmt == "voc")
    ok = cli("export", "--project", "proj", "-f", fmt, "--out", "fresh")
    assert ok.code == 0, ok
    assert sorted(added) == ["a", "b", "c"]
