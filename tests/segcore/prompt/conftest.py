"""A tiny SAM pair and an image with pyramid levels, each test with its own caches."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "models" / "sam"))

from sam_helpers import tiny_pair  # noqa: E402

from segcore.models.sam.pair import Pair, describe  # noqa: E402
from segcore.models.sam.runtime import PromptModel  # noqa: E402

_MODELS: dict[str, PromptModel] = {}


def tiny_model(variant: str = "vit_b") -> PromptModel:
    if variant not in _MODELS:
        encoder, decoder = tiny_pair(variant)
        _MODELS[variant] = PromptModel(
            Pair(variant, encoder.parent, describe(variant, encoder, decoder))
        )
    return _MODELS[variant]


@pytest.fixture
def model() -> PromptModel:
    return tiny_model()


@pytest.fixture
def image_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 1500 x 1100 RGB TIFF (levels 1500, 750, 375 px wide once opened)."""
    import tifffile

    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    yy, xx = np.mgrid[0:1100, 0:1500]
    rgb = np.stack([(xx // 6) % 256, (yy // 5) % 256, ((xx + yy) // 9) % 256], axis=2)
    rgb[(xx - 700) ** 2 + (yy - 500) ** 2 < 120**2] = (250, 30, 30)
    path = tmp_path / "scene.tif"
    tifffile.imwrite(path, rgb.astype(np.uint8))
    yield path


@pytest.fixture
def open_source(image_file: Path) -> Iterator[Callable[[], object]]:
    from segcore.io.opener import open_image

    opened: list[object] = []

    def make() -> object:
        src = open_image(image_file)
        opened.append(src)
        return src

    yield make
    for src in opened:
        src.close()  # type: ignore[attr-defined]
