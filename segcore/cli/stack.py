"""``tessera stack BAND.tif BAND.tif ... -o scene.vrt``: one multiband image from band files.

Writes a GDAL virtual raster (a small XML file; no pixel is copied) whose
bands are the files' bands in the order given, named after the files, each
with its own nodata value. The files must share one pixel grid.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "stack",
        help="stack one-band files (Landsat, Sentinel) into one multiband VRT",
        description="Write a GDAL VRT whose bands are the given files' bands, in order "
        "(no pixel copied; band names from the files, nodata per band kept). "
        "The files must share CRS, size and pixel grid.",
    )
    parser.add_argument("bands", nargs="+", help="band files, in the order wanted")
    parser.add_argument("-o", "--output", required=True, help="the .vrt file to write")


def run(args: argparse.Namespace) -> int:
    from segcore.io.stack import stack_bands

    out = stack_bands(args.bands, args.output)
    print(f"wrote {out} ({len(args.bands)} files)")
    return 0
