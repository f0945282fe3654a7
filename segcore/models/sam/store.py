"""Registered promptable pairs: one folder each under the user's model folder.

``$TESSERA_MODELS_DIR/promptable/<name>/`` when that is set, otherwise the
platform's data folder (platformdirs), e.g. ``~/.local/share/tessera/models``.
Unlike the cache, nothing here is deleted behind the user's back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from segcore.errors import ModelError
from segcore.models.sam.pair import DECODER, ENCODER, SIDECAR, Pair, describe, open_pair

DEFAULT = "default"  # a file naming the pair the app uses


def models_dir() -> Path:
    env = os.environ.get("TESSERA_MODELS_DIR")
    if env:
        return Path(env) / "promptable"
    from platformdirs import user_data_dir

    return Path(user_data_dir("tessera")) / "models" / "promptable"


def add_pair(
    name: str, variant: str, encoder: Path, decoder: Path, *, replace: bool = False
) -> Pair:
    """Check the pair, copy it (and any external weight files) into its folder.

    The folder appears complete or not at all (built under a temporary name,
    then renamed); the files given are only read. The pair becomes the default.
    """
    if not name or "/" in name or name.startswith(".") or name == DEFAULT:
        raise ModelError(f"pair name {name!r}: use letters, digits, '-' or '_'")
    meta = describe(variant, encoder, decoder)
    root = models_dir()
    target = root / name
    if target.exists() and not replace:
        raise ModelError(f"a promptable pair {name!r} exists ({target}); pass --replace")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        for src, dst in ((encoder, ENCODER), (decoder, DECODER)):
            shutil.copyfile(src, tmp / dst)
            for extra in _external_files(src):
                shutil.copyfile(src.parent / extra, tmp / extra)
        import json

        (tmp / SIDECAR).write_text(json.dumps(meta.to_json(), indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    set_default(name)
    return open_pair(target)


def _external_files(path: Path) -> set[str]:
    """Files an ONNX graph keeps its weights in (ViT-H encoders are > 2 GB)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    found = set()
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                found.add(entry.value)
    return found


def list_pairs() -> list[Pair]:
    """Every registered pair that opens, by name."""
    root = models_dir()
    if not root.is_dir():
        return []
    pairs = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.name.startswith("."):
            try:
                pairs.append(open_pair(folder))
            except ModelError:
                continue  # a damaged folder is skipped here; get_pair says why
    return pairs


def get_pair(name: str | None = None) -> Pair:
    """The pair called ``name``, or the default one."""
    root = models_dir()
    if name is None:
        marker = root / DEFAULT
        name = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
        if name is None:
            pairs = list_pairs()
            if not pairs:
                raise ModelError(
                    "no promptable model registered; add one with `tessera models add-sam "
                    "--variant mobile_sam --encoder E.onnx --decoder D.onnx`"
                )
            return pairs[0]
    folder = root / name
    if not folder.is_dir():
        known = ", ".join(p.name for p in list_pairs()) or "none"
        raise ModelError(f"no promptable pair {name!r} in {root} (registered: {known})")
    return open_pair(folder)


def set_default(name: str) -> None:
    root = models_dir()
    tmp = root / f".{DEFAULT}.tmp"
    tmp.write_text(name, encoding="utf-8")
    os.replace(tmp, root / DEFAULT)
