"""Files and runners for the output fault suite: small images, a model, the CLI in-process
and in a child whose file size is capped (a disk that fills up)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIDE = 96  # pixels of the small images
BIG = 512  # pixels of the image whose class map does not fit the capped disk


@dataclass(frozen=True)
class Outcome:
    code: int | str  # exit status, or the name of an exception that escaped main()
    err: str

    @property
    def lines(self) -> list[str]:
        """Message lines (progress bars, which redraw with \\r, left out)."""
        return [
            line
            for line in self.err.replace("\r", "\n").splitlines()
            if line.strip() and not line.startswith("[")
        ]


def cli(*argv: str | Path) -> Outcome:
    """``tessera ARGV`` in this process (torch is imported once for the whole suite)."""
    from segcore.cli import main

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code: int | str = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    except BaseException as exc:  # a traceback a user would have seen
        code = type(exc).__name__
    return Outcome(code, err.getvalue())


def assert_refused(outcome: Outcome, *names: str) -> str:
    """Exit 2, one line (after argparse's usage), naming every one of ``names``."""
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.err, outcome.err
    lines = [line for line in outcome.lines if not line.startswith(("usage:", " "))]
    assert len(lines) == 1, lines
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def cli_with_small_disk(
    limit: int, cwd: Path, *argv: str | Path
) -> subprocess.CompletedProcess[str]:
    """``tessera ARGV`` in a child that cannot grow any file past ``limit`` bytes.

    ``RLIMIT_FSIZE`` (with SIGXFSZ ignored) makes every write past the limit fail
    with EFBIG inside whatever library makes it (GDAL, libtiff, zarr, PIL), as a
    full disk does, without root or a small file system.
    """
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        from segcore.cli import main
        sys.exit(main({[str(a) for a in argv]!r}))
        """
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def georeferenced(path: Path, side: int = SIDE, seed: int = 0) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    data = (np.random.default_rng(seed).random((3, side, side)) * 255).astype(np.uint8)
    profile = {"driver": "GTiff", "width": side, "height": side, "count": 3, "dtype": "uint8"}
    transform = from_origin(500_000, 4_000_000, 1, 1)
    with rasterio.open(path, "w", crs="EPSG:32631", transform=transform, **profile) as ds:
        ds.write(data)
    return path


def class_mask(path: Path, side: int = SIDE, classes: int = 3, seed: int = 1) -> Path:
    from PIL import Image

    values = (np.random.default_rng(seed).random((side, side)) * classes).astype(np.uint8)
    Image.fromarray(values).save(path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``; symlinks by their target's name."""
    found = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            found[str(p.relative_to(folder))] = "-> " + os.readlink(p)
        elif p.is_file():
            found[str(p.relative_to(folder))] = sha(p)
    return found


def parts(folder: Path) -> list[str]:
    """Temporary files a writer left (``.<stem>.<pid>-<random>.part<suffix>``)."""
    return sorted(p.name for p in folder.rglob(".*part*"))
