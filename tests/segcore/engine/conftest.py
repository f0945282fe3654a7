"""Fixtures for the engine tests; helpers live in engine_helpers.py."""

from __future__ import annotations

import pytest
from engine_helpers import Loaded, tiny


@pytest.fixture
def tiny_model() -> Loaded:
    return tiny()
