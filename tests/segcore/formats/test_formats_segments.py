"""Segment scanning and COCO RLE built from strips agree with whole-image computations."""

from __future__ import annotations

import numpy as np
from formats_cases import CLASSES, label_maps
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_util

from segcore.jobs import run_to_end
from segcore.labels.adapters import ArrayLabels
from segcore.labels.segments import (
    Segment,
    rle_from_crop,
    scan_segments,
    segment_rle,
    unique_inverse,
)


@settings(max_examples=30, deadline=None)
@given(maps=label_maps(max_side=20), window=st.integers(1, 9))
def test_scan_and_rle_match_whole_image(maps: tuple[np.ndarray, np.ndarray], window: int) -> None:
    classes, instances = maps
    labels = ArrayLabels(classes, CLASSES, instances)
    segments = run_to_end(scan_segments(labels, window))
    labelled = classes != 255
    assert sum(s.area for s in segments) == labelled.sum()
    for seg in segments:
        mask = (classes == seg.class_id) & (instances == seg.instance)
        ys, xs = np.nonzero(mask)
        assert seg.area == mask.sum()
        assert (seg.x0, seg.y0, seg.x1, seg.y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        want = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()
        assert segment_rle(labels, seg, window)["counts"] == want
    objects = [s.instance for s in segments if s.instance]
    assert objects == sorted(objects)


def test_scan_order_and_boxes_by_hand() -> None:
    classes = np.array([[0, 0, 2], [1, 2, 2], [255, 3, 3]], np.uint8)
    instances = np.array([[0, 0, 9], [0, 9, 9], [0, 4, 4]], np.uint32)
    segs = run_to_end(scan_segments(ArrayLabels(classes, CLASSES, instances), 2))
    assert segs == [
        Segment(4, 3, 1, 2, 3, 3, 2),
        Segment(9, 2, 1, 0, 3, 2, 3),
        Segment(0, 0, 0, 0, 2, 1, 2),
        Segment(0, 1, 0, 1, 1, 2, 1),
    ]
    assert segs[1].bbox == [1, 0, 2, 2]


def test_rle_of_a_box_by_hand() -> None:
    # 3 x 4 image, pixel (row 1, col 2) set: column-major index 2 * 3 + 1 = 7
    rle = rle_from_crop(np.ones((1, 1), bool), 2, 1, 3, 4)
    assert mask_util.decode({"counts": rle["counts"].encode(), "size": [3, 4]})[1, 2] == 1
    assert int(mask_util.area({"counts": rle["counts"].encode(), "size": [3, 4]})) == 1


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.uint64, st.tuples(st.integers(0, 9), st.integers(1, 9)), elements=st.integers(0, 5))
)
def test_unique_inverse_equals_numpy(values: np.ndarray) -> None:
    unique, inverse = unique_inverse(values)
    ref_u, ref_i = np.unique(values, return_inverse=True)
    assert np.array_equal(unique, ref_u)
    assert np.array_equal(inverse, ref_i.reshape(values.shape))
