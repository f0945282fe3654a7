"""The one error handler: messages for each kind of failure, and the excepthook."""

from __future__ import annotations

import sys

from app import errors
from app.errors import describe
from segcore.errors import ModelError, SourceError


def test_expected_errors_show_their_message_without_traceback() -> None:
    message = describe(SourceError("/data/a.tif", "not a TIFF"), context="open a.tif")
    assert message.title == "Could not open a.tif"
    assert message.text == "/data/a.tif: not a TIFF"
    assert message.details == "" and message.expected


def test_gpu_out_of_memory_says_what_to_do() -> None:
    class OutOfMemoryError(RuntimeError):  # the name torch.cuda uses
        pass

    message = describe(OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert "smaller tile or batch" in message.text and "CPU" in message.text
    assert "out of memory" in describe(MemoryError()).text.lower()


def test_missing_file_names_it() -> None:
    exc = FileNotFoundError(2, "No such file or directory", "/x/y.tif")
    assert describe(exc).text == "No such file or directory: /x/y.tif"


def test_unexpected_errors_carry_a_traceback() -> None:
    try:
        raise KeyError("oops")
    except KeyError as exc:
        message = describe(exc)
    assert not message.expected
    assert "KeyError" in message.text and "Traceback" in message.details


def test_report_shows_a_dialog(qtbot, dialogs: list[str]) -> None:  # type: ignore[no-untyped-def]
    errors.report(ModelError("model.safetensors has 4 bands, image has 3"), context="run")
    assert dialogs == ["Could not run: model.safetensors has 4 bands, image has 3"]
    assert errors.reporter.history[-1].text.startswith("model.safetensors")


def test_excepthook_routes_to_the_dialog(qtbot, dialogs: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    old = sys.excepthook
    errors.install(None)
    try:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    finally:
        sys.excepthook = old
    assert len(dialogs) == 1 and "ZeroDivisionError" in dialogs[0]
    assert "Traceback" in capsys.readouterr().err  # bugs are also logged
