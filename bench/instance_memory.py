"""Peak memory of instance inference as the image grows (files out, nothing kept).

    uv run python bench/instance_memory.py MODEL.safetensors REPEAT [--folder /tmp]

Writes stardist's ``img2d.tif`` tiled ``REPEAT x REPEAT`` times as a tiled TIFF,
runs ``infer_instances`` on it with file outputs (ids, classes, CSV) and prints
the image side, objects, tiles, seconds and the peak RSS of this process. Run
it once per size (a process's peak RSS never goes down).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("repeat", type=int)
    parser.add_argument("--folder", type=Path, default=Path("/tmp"))
    args = parser.parse_args()

    import tifffile
    import torch

    from segcore.engine import InferOptions
    from segcore.engine.instances import InstanceOutputs, infer_instances
    from segcore.jobs import run_to_end
    from segcore.sampledata import fetch

    torch.set_num_threads(2)
    r, folder = args.repeat, args.folder
    image = folder / f"nuclei_x{r}.tif"
    tile = np.tile(tifffile.imread(fetch("nuclei_image")), (r, r))
    tifffile.imwrite(image, tile, tile=(256, 256))
    del tile
    outs = InstanceOutputs(
        instances=folder / f"nuclei_x{r}_ids.tif",
        classes=folder / f"nuclei_x{r}_classes.tif",
        table=folder / f"nuclei_x{r}_objects.csv",
    )
    t0 = time.monotonic()
    opts = InferOptions(device="cpu", backend="torch")
    result = run_to_end(infer_instances(image, args.model, outs, options=opts))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"{r * 512} px: {result.objects} objects, {result.tiles} tiles, "
        f"{time.monotonic() - t0:.1f} s, peak RSS {peak:.2f} GiB"
    )


if __name__ == "__main__":
    main()
