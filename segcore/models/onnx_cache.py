"""ONNX copies of model files, exported once and kept in the user's cache.

On CPU the engine runs big jobs through onnxruntime. Exporting needs PyTorch,
which alone keeps ~0.5 GB resident once imported, plus ~0.3 GB and some
seconds for the export itself. The copy is named by the model file's
content, so every later run, in any process, loads the ONNX file and never
imports torch. The export runs in a child process, so even the first run's
process stays lean; a model that cannot be exported is remembered too, so
the engine goes straight to PyTorch next time. :func:`onnx_copy` is a job: it
yields progress while the child works, and closing it stops the child.

    python -m segcore.models.onnx_cache MODEL OUT   # the child (internal)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path

from segcore.cache import cache_dir, cache_limit
from segcore.errors import ModelError
from segcore.jobs import Job, Progress, run_to_end
from segcore.models.child import die_with_parent, run_child

EXPORT_VERSION = "opset17-v2"  # part of the key: a new exporter means new copies
ON_WRITE_ENV = "TESSERA_ONNX_ON_WRITE"  # "0": no copy when a model file is written
_NOT_EXPORTABLE = 3  # the child's exit status when the model cannot be exported


def onnx_dir() -> Path:
    return cache_dir("onnx")


def shipped_dir() -> Path | None:
    """ONNX copies that came inside a frozen app (``onnx/`` in its bundle), or None.

    The desktop bundle has no PyTorch to export with, so its build puts the copy
    of the bundled model here (``packaging/build_bundle.py``); read-only.
    """
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) / "onnx" if base else None


def model_key(path: Path) -> str:
    """Hash of the model file's bytes (weights and metadata) and the exporter version."""
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()[:32]


def cached_onnx(path: str | Path, *, in_process: bool = False) -> Path:
    """:func:`onnx_copy` run to its end."""
    return run_to_end(onnx_copy(path, in_process=in_process))


def onnx_copy(path: str | Path, *, in_process: bool = False) -> Job[Path]:
    """The ONNX copy of model file ``path``, exported now if there is none (a job).

    While a child process exports, progress (no total) is yielded twice a
    second; closing the job stops the child. Raises ModelError when the model
    cannot be exported (remembered) or the export failed for another reason
    (not remembered: it may work next time).
    """
    path = Path(path)
    key = model_key(path)
    folder = onnx_dir()
    target, refused = folder / f"{key}.onnx", folder / f"{key}.refused"
    if target.is_file():
        os.utime(target)  # recently used: pruned last
        return target
    shipped = shipped_dir()
    if shipped is not None and (shipped / target.name).is_file():
        return shipped / target.name
    if refused.is_file():
        raise ModelError(refused.read_text(encoding="utf-8"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the ONNX cache {folder} ({exc}); "
            "set TESSERA_CACHE_DIR to a writable folder"
        ) from exc
    step = Progress(0, 0, message=f"exporting {path.name} to ONNX (once per model file)")
    yield step
    if in_process or getattr(sys, "frozen", False):  # a frozen app has no python to run
        _export(path, target, refused)
    else:
        yield from _export_in_child(path, target, refused, step)
    prune(folder, keep=target)
    return target


def copy_after_write(path: str | Path) -> Job[Path | None]:
    """Make the ONNX copy of a model file just written, so that no run pays for the export.

    ``tessera train``, ``tessera models new`` and the Training dock call it; the
    copy is shipped to a cluster's workers with the model. A model that cannot
    be exported gets a note (a Progress message) instead of an error: its CPU
    runs use PyTorch. ``TESSERA_ONNX_ON_WRITE=0`` skips it (the test suite sets
    it: most tests write models they never run on a big image).
    """
    if os.environ.get(ON_WRITE_ENV, "1") == "0":
        return None
    try:
        return (yield from onnx_copy(path))
    except ModelError as exc:
        yield Progress(0, 0, message=f"no ONNX copy of {Path(path).name} ({exc}); PyTorch runs it")
        return None


def prune(folder: Path, *, keep: Path, limit: int | None = None) -> None:
    """Delete the least recently used copies until the folder holds at most ``limit`` bytes.

    Every fine-tuned version of a model is a new file and gets its own copy, so
    without this the cache would only grow. ``keep`` is never deleted. ``limit``
    defaults to :func:`segcore.cache.cache_limit` of ``"onnx"`` (2 GB unless set).
    """
    if limit is None:
        limit = cache_limit("onnx")[0]
    copies = []
    for copy in folder.glob("*.onnx"):
        try:
            info = copy.stat()
        except OSError:  # deleted by another process meanwhile
            continue
        copies.append((info.st_mtime, info.st_size, copy))
    total = sum(size for _, size, _ in copies)
    for _, size, copy in sorted(copies):
        if total <= limit:
            break
        if copy != keep:
            copy.unlink(missing_ok=True)
            copy.with_suffix(".json").unlink(missing_ok=True)  # export_onnx's sidecar
            total -= size


def usage() -> tuple[int, int]:
    """(number of ONNX copies, bytes they take)."""
    files = [f for f in onnx_dir().glob("*") if f.is_file()]
    sizes = []
    for f in files:
        with contextlib.suppress(OSError):
            sizes.append(f.stat().st_size)
    return sum(1 for f in files if f.suffix == ".onnx"), sum(sizes)


def clear() -> tuple[int, int]:
    """Delete every ONNX copy and remembered refusal: (copies deleted, bytes freed).

    A copy is only a cache: the next CPU run exports it again from the model file.
    """
    copies, freed = 0, 0
    for f in list(onnx_dir().glob("*")):
        if not f.is_file() or f.name.endswith(".tmp"):  # a running export's file: its own
            continue
        try:
            size = f.stat().st_size
            f.unlink()
        except OSError:
            continue
        copies += f.suffix == ".onnx"
        freed += size
    return copies, freed


def _export_in_child(path: Path, target: Path, refused: Path, step: Progress) -> Job[None]:
    """Export in a child process, yielding ``step`` twice a second while it works."""

    def drop_partial() -> None:
        for partial in target.parent.glob(f".{target.name}.*.tmp"):
            partial.unlink(missing_ok=True)

    code, out, err = yield from run_child(
        "segcore.models.onnx_cache", [str(path), str(target)], step, on_cancel=drop_partial
    )
    if code == _NOT_EXPORTABLE and refused.is_file():
        raise ModelError(refused.read_text(encoding="utf-8"))
    if code != 0 or not target.is_file():
        tail = (err or out).strip().splitlines()[-1:] or ["no message"]
        raise ModelError(f"{path}: exporting to ONNX failed ({tail[0]})")


def _export(path: Path, target: Path, refused: Path) -> None:
    """``export_onnx`` (checked against PyTorch, written atomically); a refusal is remembered."""
    try:
        from segcore.models.files import load_model
        from segcore.models.portable import export_onnx

        loaded = load_model(path, device="cpu")
    except ModuleNotFoundError as exc:  # the desktop bundle ships onnxruntime, not PyTorch
        raise ModelError(
            f"{path}: running it needs an ONNX copy, and making one needs PyTorch, which this "
            "build of Tessera does not include; export it where PyTorch is installed "
            "(tessera models export) and open the .onnx file"
        ) from exc
    try:
        export_onnx(loaded, target)
    except ModelError as exc:
        refused.write_text(str(exc), encoding="utf-8")
        raise


def main(argv: list[str]) -> int:
    path, target = Path(argv[0]), Path(argv[1])
    if len(argv) > 2:
        die_with_parent(int(argv[2]))
    try:
        _export(path, target, target.with_suffix(".refused"))
    except ModelError as exc:
        print(exc, file=sys.stderr)
        return _NOT_EXPORTABLE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
