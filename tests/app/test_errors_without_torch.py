"""In the desktop bundle (no PyTorch) a training click says what is missing, not a traceback."""

from __future__ import annotations

from app.errors import describe


def test_missing_torch_is_an_expected_message() -> None:
    try:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")
    except ModuleNotFoundError as exc:
        message = describe(exc, context="start training")
    assert message.expected
    assert message.title == "Could not start training"
    assert "needs PyTorch" in message.text and "uv run tessera" in message.text


def test_another_missing_module_is_still_unexpected() -> None:
    try:
        raise ModuleNotFoundError("No module named 'fancy'", name="fancy")
    except ModuleNotFoundError as exc:
        assert not describe(exc).expected
