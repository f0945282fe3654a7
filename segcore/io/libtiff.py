"""Keep libtiff's own error printing off the terminal.

GDAL's TIFF driver reports most libtiff errors through its own handler (rasterio
turns them into exceptions or log records), but a failed write or seek inside
GDAL's file layer goes to libtiff's process-wide handler, which prints lines
such as ``_tiffWriteProc: No space left on device.`` straight to stderr. The
failure itself is still caught: the writer reads the file back
(:mod:`segcore.io.readback`) and raises one clear error. The GeoTIFF writers
call :func:`quiet_libtiff` (once rasterio is loaded) to remove that handler from
the libtiff GDAL uses, so the CLI prints only Tessera's one line.

rasterio's wheels carry their own libtiff beside the package; once rasterio is
imported that copy is loaded, and opening it again by path only returns it.
Other builds use the system's libtiff.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
from pathlib import Path

_quieted = False


def quiet_libtiff() -> bool:
    """Stop the libtiff used by GDAL printing errors to stderr; True if it was found.

    Call it after importing rasterio. Errors that GDAL reports itself (through
    its own handler, as rasterio exceptions) are not affected.
    """
    global _quieted
    if _quieted:
        return True
    for path in _candidates():
        try:
            lib = ctypes.CDLL(str(path))
            set_handler = lib.TIFFSetErrorHandler
        except (OSError, AttributeError):
            continue
        set_handler.restype = ctypes.c_void_p
        set_handler.argtypes = [ctypes.c_void_p]
        set_handler(None)
        _quieted = True
    return _quieted


def _candidates() -> list[Path]:
    """The libtiff rasterio's GDAL links: bundled with the wheel, else the system's."""
    spec = importlib.util.find_spec("rasterio")
    if spec is None or spec.origin is None:
        return []
    package = Path(spec.origin).parent
    bundled: list[Path] = []
    for folder in (package.parent / "rasterio.libs", package / ".dylibs"):
        bundled += sorted(folder.glob("libtiff*")) if folder.is_dir() else []
    if bundled:
        return bundled
    system = ctypes.util.find_library("tiff")
    return [Path(system)] if system else []
