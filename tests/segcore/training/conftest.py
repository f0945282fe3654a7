"""Fixtures of the training tests."""

from __future__ import annotations

import pytest
from training_helpers import scene_data as make_scene_data

from segcore.training.data import TrainingData


@pytest.fixture
def scene_data() -> TrainingData:
    return make_scene_data()
