"""The user's cache directory: lazy pyramids, ONNX copies of models, and their size limits.

``$TESSERA_CACHE_DIR`` wins when set (tests, shared machines, a bigger
disk); otherwise the platform's cache folder (platformdirs), e.g.
``~/.cache/tessera`` on Linux. Everything here can be deleted at any time.

Each kind of cache is pruned, least recently used first, to a limit: the
``$TESSERA_<KIND>_CACHE_LIMIT`` environment variable (``"20G"``, ``"500M"``)
when set, else the value saved in ``limits.json`` beside the caches (by the
app's Cache dialog or ``tessera cache limit``), else :data:`DEFAULT_LIMITS`.
The limit lives with the folder it bounds, so the app, the command line and
a second window all prune to the same figure.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

KINDS = ("pyramids", "onnx")
DEFAULT_LIMITS = {"pyramids": 8 << 30, "onnx": 2 << 30}
LIMITS_FILE = "limits.json"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def cache_home() -> Path:
    """The folder holding every kind of cache (not created here)."""
    env = os.environ.get("TESSERA_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tessera"))


def cache_dir(kind: str) -> Path:
    """Folder for one kind of cached thing (not created here)."""
    return cache_home() / kind


def parse_size(text: str) -> int:
    """Bytes of a size written as a number with an optional unit (K, M, G, T; powers of 1024).

    >>> parse_size("1.5G"), parse_size("500 MB"), parse_size("4096")
    (1610612736, 524288000, 4096)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"{text!r} is not a size; write e.g. 8G, 500M or a number of bytes")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def format_size(nbytes: int) -> str:
    """A size for people: ``"1.2 GB"``, ``"340 MB"``, ``"12 KB"`` (powers of 1024)."""
    for unit, scale in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if nbytes >= scale:
            value = nbytes / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{nbytes} B"


def _env_name(kind: str) -> str:
    return f"TESSERA_{kind.upper()}_CACHE_LIMIT"


def cache_limit(kind: str) -> tuple[int, str]:
    """The size limit of one kind of cache and where it comes from (environment/saved/default)."""
    env = os.environ.get(_env_name(kind))
    if env:
        return parse_size(env), f"${_env_name(kind)}"
    saved = _saved_limits().get(kind)
    if isinstance(saved, int) and saved > 0:
        return saved, str(cache_home() / LIMITS_FILE)
    return DEFAULT_LIMITS[kind], "default"


def save_limit(kind: str, nbytes: int) -> Path:
    """Save the limit of one kind of cache in ``limits.json`` (written atomically)."""
    if kind not in KINDS:
        raise ValueError(f"no cache kind {kind!r}; kinds are {', '.join(KINDS)}")
    if nbytes <= 0:
        raise ValueError("a cache limit must be more than 0 bytes")
    limits = _saved_limits()
    limits[kind] = int(nbytes)
    home = cache_home()
    home.mkdir(parents=True, exist_ok=True)
    target = home / LIMITS_FILE
    tmp = target.with_name(f".{LIMITS_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(limits, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def _saved_limits() -> dict[str, object]:
    try:
        data = json.loads((cache_home() / LIMITS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none saved, or unreadable: the defaults hold
        return {}
    return data if isinstance(data, dict) else {}


def tree_bytes(path: Path) -> int:
    """Bytes of every file under ``path`` (0 when it is gone; files vanishing meanwhile skipped)."""
    total = 0
    stack = [path]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as items:
                for item in items:
                    try:
                        if item.is_dir(follow_symlinks=False):
                            stack.append(Path(item.path))
                        else:
                            total += item.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total
