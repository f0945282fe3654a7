"""``tessera eval`` on NIfTI label volumes: Dice, IoU, per-slice Dice and HD95 in mm."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from segcore.cli.progress import run_job
from segcore.errors import FormatError

VOLUME_SUFFIXES = (".nii", ".nii.gz")


def is_volume(path: str) -> bool:
    return path.lower().endswith(VOLUME_SUFFIXES)


def _load(path: Path) -> Any:
    import nibabel as nib

    try:
        image: Any = nib.load(path, keep_file_open=True)  # slices in order: gzip reads on
        shape = tuple(int(n) for n in image.shape)
    except Exception as exc:  # nibabel raises many types for a bad file
        raise FormatError(f"{path}: not a readable NIfTI file: {exc}") from exc
    if len(shape) != 3 or np.dtype(image.get_data_dtype()).kind not in "iub":
        raise FormatError(
            f"{path}: need a 3-D integer label volume, got {shape} {image.get_data_dtype()}"
        )
    return image


def _num(v: float) -> str:
    return "     -" if math.isnan(v) else "   inf" if math.isinf(v) else f"{v:6.4f}"


def run_volume(args: argparse.Namespace, names: list[str] | None) -> int:
    """Compare two label volumes on the same grid (0 = background, k = label k)."""
    from segcore.formats.volume import same_affine
    from segcore.metrics.volume import compare_volumes

    pred, gt = _load(Path(args.pred)), _load(Path(args.gt))
    if pred.shape != gt.shape:
        raise FormatError(
            f"{args.pred} is {'x'.join(map(str, pred.shape))} voxels but {args.gt} is "
            f"{'x'.join(map(str, gt.shape))}; compare volumes of the same image"
        )
    if not same_affine(np.asarray(pred.affine), np.asarray(gt.affine)):
        raise FormatError(
            f"{args.pred}: its affine differs from {args.gt}'s; resample one onto the other's grid"
        )
    spacing = tuple(float(v) for v in gt.header.get_zooms()[:3])
    job = compare_volumes(
        lambda z: np.asarray(pred.dataobj[:, :, z]),
        lambda z: np.asarray(gt.dataobj[:, :, z]),
        depth=int(gt.shape[2]),
        spacing=spacing,  # type: ignore[arg-type]
    )
    scores = run_job(job, "comparing volumes")

    def name(label: int) -> str:
        return names[label - 1] if names and label - 1 < len(names) else f"label {label}"

    out = sys.stdout
    out.write(
        f"{'class':<20} {'Dice':>6} {'IoU':>6} {'HD95 mm':>8} {'slice Dice':>10} {'voxels':>10}\n"
    )
    for s in scores:
        both = [v for v in s.dice_per_slice if not math.isnan(v)]
        mean_slice = float(np.mean(both)) if both else math.nan
        out.write(
            f"{name(s.label)[:20]:<20} {_num(s.dice)} {_num(s.iou)} {_num(s.hd95_mm):>8} "
            f"{_num(mean_slice):>10} {s.truth_voxels:>10}\n"
        )
    dice = [s.dice for s in scores if not math.isnan(s.dice)]
    out.write(
        f"mean Dice {_num(float(np.mean(dice)) if dice else math.nan)}  spacing {spacing} mm\n"
    )
    if args.json:
        result = {
            "spacing_mm": list(spacing),
            "per_class": [s.to_json(name(s.label)) for s in scores],
        }
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0
