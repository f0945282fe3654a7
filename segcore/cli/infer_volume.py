"""``tessera infer VOLUME -o out.nii.gz``: a 2-D model slice by slice into a NIfTI label volume.

The slices' class maps go to a scratch label volume beside the output (on
disk, chunk by chunk), which is then written as NIfTI on the image's grid
(its affine, so spacing and orientation are the image's) and removed. The
output appears only when complete.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from segcore.cli.progress import run_job
from segcore.errors import InferenceError


def run_volume(args: argparse.Namespace, options: object) -> int:
    from segcore.engine.options import InferOptions
    from segcore.engine.volume import infer_volume, slice_range
    from segcore.formats.nifti_labels import write_label_nifti
    from segcore.formats.volume import volume_geometry
    from segcore.io import open_image
    from segcore.labels.store import LabelStore

    assert isinstance(options, InferOptions)
    output = Path(args.output)
    if not output.name.endswith((".nii", ".nii.gz")):
        raise InferenceError(f"{output}: a volume's labels are written as .nii.gz")
    geometry = volume_geometry(Path(args.images[0]))
    scratch = output.with_name(f".{output.name}.{os.getpid()}.zarr")
    part = output.with_name(f".{output.name}.{os.getpid()}.part.nii.gz")
    source = open_image(args.images[0])
    try:
        slices = slice_range(args.slices, source.depth)
        store = LabelStore.create(
            scratch, width=source.width, height=source.height, depth=source.depth
        )
        result = run_job(
            infer_volume(source, args.model, store, slices=slices, options=options), "tessera infer"
        )
        run_job(write_label_nifti(store, geometry, part), "writing NIfTI")
        store.close()
        os.replace(part, output)
    finally:
        source.close()
        shutil.rmtree(scratch, ignore_errors=True)
        part.unlink(missing_ok=True)
    print(
        f"wrote {output}: {len(result.slices)} slice(s) of {source.width} x {source.height} "
        f"in {result.seconds:.1f} s, {result.labelled_voxels} labelled voxels",
        file=sys.stderr,
    )
    return 0
