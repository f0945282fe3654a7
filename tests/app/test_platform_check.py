"""The launcher's check of Qt's X11 libraries, with missing libraries simulated."""

from __future__ import annotations

import pytest

from app import launcher, platform_check
from app.platform_check import check_display, install_message, missing_libraries, uses_xcb

DESKTOP = {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}
FRESH_UBUNTU_LACKS = {
    "libxcb-cursor.so.0",
    "libxcb-icccm.so.4",
    "libxcb-keysyms.so.1",
    "libxcb-image.so.0",
    "libxcb-render-util.so.0",
    "libxkbcommon-x11.so.0",
}


def loader_without(missing: set[str]):
    """A stand-in for the dynamic loader that fails on ``missing``."""
    tried: list[str] = []

    def can_load(soname: str) -> bool:
        tried.append(soname)
        return soname not in missing

    return can_load, tried


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        (DESKTOP, "linux", True),
        ({}, "linux", True),  # no session type: Qt 6 starts on xcb
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb:display=:1"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        (DESKTOP, "darwin", False),
        (DESKTOP, "win32", False),
    ],
)
def test_uses_xcb_follows_qts_choice(environ, platform, expected) -> None:
    assert uses_xcb(environ, platform) is expected


def test_all_present_says_nothing() -> None:
    can_load, tried = loader_without(set())
    assert check_display(DESKTOP, platform="linux", can_load=can_load) is None
    assert tried == list(platform_check.LIBRARIES)  # every library was tried


def test_offscreen_checks_nothing() -> None:
    can_load, tried = loader_without(FRESH_UBUNTU_LACKS)
    environ = {"QT_QPA_PLATFORM": "offscreen"}
    assert check_display(environ, platform="linux", can_load=can_load) is None
    assert tried == []


def test_missing_libraries_named_with_each_distributions_packages() -> None:
    can_load, _ = loader_without({"libxcb-icccm.so.4", "libxcb-keysyms.so.1"})
    message = check_display(DESKTOP, platform="linux", can_load=can_load)
    assert message is not None
    lines = message.splitlines()
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in lines[0]
    assert lines[1].split() == ["Debian/Ubuntu:", "sudo", "apt", "install"] + [
        "libxcb-icccm4",
        "libxcb-keysyms1",
    ]
    assert lines[2].split()[-2:] == ["xcb-util-wm", "xcb-util-keysyms"]
    assert lines[2].split()[:3] == ["Fedora:", "sudo", "dnf"]
    assert lines[3].split()[:3] == ["Arch:", "sudo", "pacman"]
    assert "libxcb-cursor" not in message  # present libraries are not named


def test_fresh_ubuntu_gets_the_six_packages() -> None:
    can_load, _ = loader_without(FRESH_UBUNTU_LACKS)
    debian = install_message(missing_libraries(can_load)).splitlines()[1].split()[4:]
    assert debian == [
        "libxcb-cursor0",
        "libxcb-icccm4",
        "libxcb-keysyms1",
        "libxcb-image0",
        "libxcb-render-util0",
        "libxkbcommon-x11-0",
    ]


def test_shared_package_listed_once() -> None:
    can_load, _ = loader_without({"libxcb-shm.so.0", "libxcb-randr.so.0"})
    fedora = install_message(missing_libraries(can_load)).splitlines()[2].split()
    assert fedora[4:] == ["libxcb"]


def test_real_loader_finds_libc_and_not_a_made_up_library() -> None:
    assert platform_check._can_load("libc.so.6")
    assert not platform_check._can_load("libtessera-does-not-exist.so.7")


@pytest.mark.skipif(not platform_check.sys.platform.startswith("linux"), reason="Linux check")
def test_launcher_prints_one_message_and_exits_2(monkeypatch, capsys) -> None:
    can_load, _ = loader_without({"libxcb-cursor.so.0"})
    monkeypatch.setattr(platform_check, "_can_load", can_load)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    opened: list[list[str]] = []
    monkeypatch.setattr("app.main.run_app", lambda args: opened.append(args) or 0)
    assert launcher.main(["image.tif"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "libxcb-cursor.so.0" in err and "sudo apt install libxcb-cursor0" in err
    assert opened == []  # Qt's window was never started


def test_launcher_starts_the_app_when_all_are_there(monkeypatch, capsys) -> None:
    can_load, _ = loader_without(set())
    monkeypatch.setattr(platform_check, "_can_load", can_load)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    opened: list[list[str]] = []
    monkeypatch.setattr("app.main.run_app", lambda args: opened.append(args) or 0)
    assert launcher.main(["image.tif"]) == 0
    assert opened == [["image.tif"]]
    assert capsys.readouterr().err == ""


def test_headless_subcommand_is_never_checked(monkeypatch, capsys) -> None:
    can_load, tried = loader_without(FRESH_UBUNTU_LACKS)
    monkeypatch.setattr(platform_check, "_can_load", can_load)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert launcher.main(["info", "/nonexistent/scene.tif"]) == 2  # the missing file's error
    assert tried == []
    assert "libxcb" not in capsys.readouterr().err
