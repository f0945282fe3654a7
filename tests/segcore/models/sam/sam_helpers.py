"""Tiny promptable pairs of the real architectures at random init (imported by name).

SAM ViT-B and SAM 2 Hiera-T, built by ``segcore.models.sam.export.build`` with a
256-pixel input and reduced depth, exported through ``export_module`` (the path
``tessera models export-sam`` takes). Built once per test process.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from segcore.models.sam.export import ArchSize, build, export_module

TINY = {
    "vit_b": ArchSize(256, depth=2, embed_dim=96, heads=2),
    "sam2_hiera_t": ArchSize(256, depth=2),
}
_BUILT: dict[tuple[str, int], tuple[Path, Path]] = {}
_ROOT = Path(tempfile.mkdtemp(prefix="tessera-sam-pairs-"))
atexit.register(shutil.rmtree, _ROOT, True)  # the pairs are ~60 MB


def tiny_pair(variant: str, image_size: int = 256) -> tuple[Path, Path]:
    """(encoder.onnx, decoder.onnx) of a tiny random-init ``variant`` (cached per process)."""
    key = (variant, image_size)
    if key not in _BUILT:
        base = TINY[variant]
        size = ArchSize(image_size, base.depth, base.embed_dim, base.heads)
        _BUILT[key] = export_module(
            variant, build(variant, size), _ROOT / f"{variant}-{image_size}"
        )
    return _BUILT[key]
