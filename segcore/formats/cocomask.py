"""COCO ``segmentation`` values (polygons, RLE, compressed RLE), checked, then decoded.

pycocotools trusts its input: NaN or huge polygon coordinates overflow its
integer arithmetic (one run grew to 22 GB, another crashed the process), and
compressed RLE counts that add up to more than the image write past the end
of its mask. So everything is checked here first, by the rules pycocotools
itself follows, and only values that pass reach it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from segcore.formats.checks import coords, integer

MAX_RLE_GROUP = 7  # characters per compressed count: 35 bits, more than any image needs


def decode_segmentation(seg: Any, height: int, width: int) -> NDArray[np.bool_]:
    """A COCO ``segmentation`` (polygons, RLE or uncompressed RLE) as a full mask.

    Raises ``ValueError`` naming the field and what is wrong with it.
    """
    from pycocotools import mask as mask_util

    if isinstance(seg, list):
        if not seg:
            raise ValueError("'segmentation' is an empty list; polygons need 3 points each")
        polygons = []
        for i, poly in enumerate(seg):
            if not isinstance(poly, list) or len(poly) < 6:
                raise ValueError(f"'segmentation' polygon {i} needs at least 3 x, y pairs")
            xy = coords(poly, f"'segmentation' polygon {i}", width=width, height=height)
            polygons.append(xy.ravel().tolist())
        rle = mask_util.merge(mask_util.frPyObjects(polygons, height, width))
    elif isinstance(seg, dict) and "counts" in seg and "size" in seg:
        size = [integer(v) for v in seg["size"]] if isinstance(seg["size"], list) else []
        if len(size) != 2 or None in size:
            raise ValueError(
                f"'segmentation' size must be [height, width], not {_short(seg['size'])}"
            )
        if size != [height, width]:
            raise ValueError(
                f"mask size {size[1]} x {size[0]} differs from image {width} x {height}"
            )
        counts = seg["counts"]
        if isinstance(counts, list):
            if not all(integer(c) is not None and c >= 0 for c in counts):
                raise ValueError("'segmentation' counts must be non-negative integers")
            if sum(int(c) for c in counts) != height * width:
                raise ValueError("uncompressed RLE counts do not add up to the image size")
            rle = mask_util.frPyObjects(
                {"counts": [int(c) for c in counts], "size": [height, width]}, height, width
            )
        elif isinstance(counts, str):
            check_rle_string(counts, height * width)
            rle = {"counts": counts.encode("ascii"), "size": [height, width]}
        else:
            raise ValueError(f"'segmentation' counts must be a list or text, not {_short(counts)}")
    else:
        raise ValueError("'segmentation' is neither polygons nor RLE")
    return np.asarray(mask_util.decode(rle), dtype=bool)


def rle_string_counts(text: str) -> NDArray[np.int64]:
    """The run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``).

    Each count is stored in 5-bit groups (bit 0x20: more follow; 0x10 in the
    last group: negative), as a character 48 + value; from the fourth count
    on, each is a difference to the count two before it.
    """
    raw = np.frombuffer(text.encode("ascii", errors="replace"), np.uint8).astype(np.int64) - 48
    if raw.size == 0:
        return np.zeros(0, np.int64)
    if raw.min() < 0 or raw.max() > 63:
        raise ValueError("'segmentation' counts string holds characters RLE does not use")
    more = (raw & 0x20) != 0
    if more[-1]:
        raise ValueError("'segmentation' counts string ends in the middle of a count")
    ends = np.flatnonzero(~more)
    starts = np.concatenate([[0], ends[:-1] + 1])
    group = np.repeat(np.arange(len(ends)), ends - starts + 1)
    k = np.arange(raw.size) - starts[group]
    if k.max() >= MAX_RLE_GROUP:
        raise ValueError("'segmentation' counts string holds a count too large for any image")
    values = np.zeros(len(ends), np.int64)
    np.add.at(values, group, (raw & 0x1F) << (5 * k))
    negative = (raw[ends] & 0x10) != 0
    values[negative] -= np.int64(1) << (5 * (k[ends][negative] + 1))
    counts = values.copy()
    counts[3::2] = np.cumsum(values[1::2])[1:] if len(values) > 3 else counts[3::2]
    counts[4::2] = np.cumsum(values[2::2])[1:] if len(values) > 4 else counts[4::2]
    return counts


def check_rle_string(text: str, pixels: int) -> None:
    """``ValueError`` unless the counts are non-negative and cover exactly ``pixels``."""
    counts = rle_string_counts(text)
    if counts.size and counts.min() < 0:
        raise ValueError("'segmentation' counts string holds a negative run length")
    if int(counts.sum()) != pixels:
        raise ValueError(
            f"'segmentation' RLE counts cover {int(counts.sum())} pixels, the image {pixels}"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
