"""Write the 50k x 50k tiled GeoTIFF the GUI benchmark browses.

``segcore.synthetic.write_geotiff`` renders every 512 px block from scratch
(about 0.5 s a block here, so ~90 min for 50k x 50k on one core). The viewer
does not care whether blocks repeat, so this script renders an 8 x 8 pool of
blocks of the same synthetic scene once and writes the big raster by cycling
through the pool, then builds the same internal overviews as
``write_geotiff(..., overviews=True)``. A few minutes instead of 90.

    uv run python bench/big_tiff.py /tmp/tessera_bench_50k.tif --size 50000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from segcore.synthetic import SceneSpec, render_region

BLOCK = 512
POOL = 8


def write_big_tiff(path: Path, size: int, *, spec: SceneSpec | None = None) -> Path:
    """Write a ``size`` x ``size`` tiled deflate GeoTIFF with overviews to ``path``."""
    import rasterio
    from affine import Affine

    spec = spec or SceneSpec()
    pool = np.zeros((spec.bands, BLOCK * POOL, BLOCK * POOL), spec.dtype)
    for py in range(0, BLOCK * POOL, BLOCK):  # block by block: render_region is O(window x objects)
        for px in range(0, BLOCK * POOL, BLOCK):
            block = render_region(spec, px, py, BLOCK, BLOCK).image
            pool[:, py : py + BLOCK, px : px + BLOCK] = np.moveaxis(block, -1, 0)
    tmp = path.with_suffix(".partial.tif")
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": spec.bands,
        "dtype": spec.dtype,
        "crs": "EPSG:32616",
        "transform": Affine(0.5, 0.0, 500000.0, 0.0, -0.5, 4400000.0),
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "BIGTIFF": "YES",
    }
    with rasterio.open(tmp, "w", **profile) as ds:
        for top in range(0, size, BLOCK):
            for left in range(0, size, BLOCK):
                w, h = min(BLOCK, size - left), min(BLOCK, size - top)
                px = (left // BLOCK) % POOL * BLOCK
                py = (top // BLOCK) % POOL * BLOCK
                block = pool[:, py : py + h, px : px + w]
                ds.write(block, window=rasterio.windows.Window(left, top, w, h))
    with rasterio.open(tmp, "r+") as ds:
        factors = [f for f in (2, 4, 8, 16, 32, 64, 128, 256) if size // f >= 256]
        ds.build_overviews(factors, rasterio.enums.Resampling.average)
    tmp.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--size", type=int, default=50_000)
    args = parser.parse_args()
    start = time.perf_counter()
    write_big_tiff(args.path, args.size)
    print(f"wrote {args.path} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
