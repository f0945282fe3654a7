"""Before Qt loads: are the system libraries of Qt's X11 (xcb) platform plugin there?

PySide6's wheels ship Qt but not the X11 libraries its ``xcb`` plugin links to.
On a fresh Linux desktop some are missing, and Qt then dies with "could not
load the Qt platform plugin xcb" and a hint to reinstall. :func:`check_display`
runs in the launcher before PySide6 is imported: it loads each library the
plugin needs by its soname, the way the dynamic loader will (``ctypes.CDLL``,
no subprocess, a few milliseconds), and when some fail returns one message
naming them and the command that installs them on Debian/Ubuntu, Fedora and
Arch. Nothing is checked when Qt will not use xcb: another system, the
``offscreen`` platform (tests, CI), or a Wayland session.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

# soname -> (Debian/Ubuntu, Fedora, Arch) package, for every X11 library that
# PySide6's libqxcb.so links to (its NEEDED entries, Qt's own libraries aside).
# The first six are the ones a fresh desktop usually lacks.
LIBRARIES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": (
        "libxcb-render-util0",
        "xcb-util-renderutil",
        "xcb-util-renderutil",
    ),  # noqa: E501
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libGL.so.1": ("libgl1", "mesa-libGL", "libglvnd"),
}
INSTALLERS = (
    ("Debian/Ubuntu", "sudo apt install"),
    ("Fedora", "sudo dnf install"),
    ("Arch", "sudo pacman -S --needed"),
)


def uses_xcb(environ: Mapping[str, str], platform: str) -> bool:
    """Whether Qt will start on the xcb (X11) platform plugin.

    ``QT_QPA_PLATFORM`` decides when set (its first entry: ``"offscreen"``,
    ``"wayland;xcb"`` and ``"wayland"`` are not xcb); otherwise a Wayland session
    (``XDG_SESSION_TYPE=wayland``) starts on Wayland and any other Linux session
    on xcb, as Qt 6 chooses.

    >>> uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    False
    >>> uses_xcb({"DISPLAY": ":0"}, "linux")
    True
    """
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0].strip() == "xcb"
    return environ.get("XDG_SESSION_TYPE", "") != "wayland"


def _can_load(soname: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries(can_load: Callable[[str], bool] | None = None) -> list[str]:
    """Sonames of :data:`LIBRARIES` that the dynamic loader cannot load, in table order."""
    load = can_load or _can_load
    return [soname for soname in LIBRARIES if not load(soname)]


def install_message(missing: list[str]) -> str:
    """The one message: what is missing and, for each family of distributions, its install."""
    lines = [
        "tessera: the desktop app cannot start: Qt's X11 platform plugin needs system "
        f"libraries that are not installed ({', '.join(missing)}). Install them with:"
    ]
    for column, (family, command) in enumerate(INSTALLERS):
        packages = dict.fromkeys(LIBRARIES[soname][column] for soname in missing)
        lines.append(f"  {family + ':':15}{command} {' '.join(packages)}")
    lines.append(
        "then run tessera again (the headless subcommands, e.g. `tessera info`, work without them)."
    )
    return "\n".join(lines)


def check_display(
    environ: Mapping[str, str] | None = None,
    *,
    platform: str | None = None,
    can_load: Callable[[str], bool] | None = None,
) -> str | None:
    """``None`` when the app can start its window; else the message to print (then exit 2)."""
    if not uses_xcb(os.environ if environ is None else environ, platform or sys.platform):
        return None
    missing = missing_libraries(can_load)
    return install_message(missing) if missing else None
