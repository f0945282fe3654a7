"""Fixtures of the pixel-classifier tests; helpers live in pixel_helpers.py."""

from __future__ import annotations

import pytest
from pixel_helpers import Trained, train_scene


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return train_scene(tmp_path_factory.mktemp("pixel"))
