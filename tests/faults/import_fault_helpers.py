"""A corpus of hostile label files for ``tessera import``, and a driver that runs
the CLI over it in a child process whose address space is capped.

Each case is a file (or folder) in one format with one thing wrong, and the
words the refusal must contain (the field, the record, what is wrong). The
driver runs every case through ``segcore.cli.main`` in one process (a cap on
its memory keeps a bomb from taking the machine down), and reports exit
status, stderr and peak memory as JSON.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SIDE = 8  # every image is 8 x 8 pixels


@dataclass(frozen=True)
class Case:
    name: str
    fmt: str
    path: Path
    expect: tuple[str, ...]  # all must appear in stderr
    project: bool = False  # import into the project (else only check)
    args: tuple[str, ...] = field(default=())


def _coco(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "images": [{"id": 1, "file_name": "a.png", "width": SIDE, "height": SIDE}],
        "categories": [{"id": 1, "name": "cell", "isthing": 1}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]]}
        ],
    }
    for key, value in changes.items():
        if key == "segmentation":
            doc["annotations"][0]["segmentation"] = value
        elif key in {"width", "height"}:
            doc["images"][0][key] = value
        else:
            doc[key] = value
    return doc


def _labelme(points: Any = None, **shape: Any) -> dict[str, Any]:
    return {
        "version": "5.5.0",
        "shapes": [
            {
                "label": "cell",
                "points": points if points is not None else [[1, 1], [5, 1], [5, 5]],
                "group_id": None,
                "shape_type": "polygon",
                **shape,
            }
        ],
        "imagePath": "a.png",
        "imageHeight": SIDE,
        "imageWidth": SIDE,
    }


def _geojson(geometry: Any) -> str:
    feature = {"type": "Feature", "properties": {"class_name": "cell"}, "geometry": geometry}
    return json.dumps({"type": "FeatureCollection", "features": [feature]})


SQUARE = {"type": "Polygon", "coordinates": [[[1, 1], [5, 1], [5, 5], [1, 5], [1, 1]]]}


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` x ``height`` and that holds almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def write_raw(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def corpus(root: Path) -> list[Case]:
    """Write every hostile file under ``root``; return the cases."""
    cases: list[Case] = []

    def coco(
        name: str, doc: Any, *expect: str, raw: str | None = None, project: bool = False
    ) -> None:
        path = write_raw(root / name / "a.json", raw if raw is not None else json.dumps(doc))
        cases.append(Case(name, "coco", path, ("a.json", *expect), project))

    nan = json.dumps(_coco()).replace("[[1, 1, 5, 1, 5, 5]]", "[[1, 1, NaN, 1, 5, 5]]")
    coco("coco-nan-polygon", None, "annotation 1", "polygon 0 point 1 is (NaN, 1)", raw=nan)
    coco("coco-nan-polygon-into-project", None, "annotation 1", "NaN", raw=nan, project=True)
    coco("coco-huge-polygon", _coco(segmentation=[[0, 0, 1e12, 0, 4, 4]]), "far outside")
    coco("coco-huge-int-polygon", _coco(segmentation=[[0, 0, 10**30, 0, 4, 4]]), "too large")
    coco("coco-width-negative", _coco(width=-5), "'width' must be a positive integer, got -5")
    coco("coco-width-text", _coco(width="wide"), "'width' must be a positive integer")
    coco("coco-huge-image", _coco(width=200_000, height=200_000), "200000 x 200000", "memory")
    deep = json.dumps(_coco()).replace(
        '"images"', '"extra": ' + "[" * 100_000 + "]" * 100_000 + ', "images"'
    )
    coco("coco-deep", None, "nested 100001 levels deep", raw=deep)
    digits = json.dumps(_coco()).replace(f'"width": {SIDE}', '"width": ' + "9" * 5000)
    coco("coco-5000-digits", None, "5000 characters long", raw=digits)
    coco("coco-rle-overflow", _coco(segmentation={"size": [SIDE, SIDE], "counts": "0o00O0"}), "RLE")
    coco(
        "coco-rle-garbage",
        _coco(segmentation={"size": [SIDE, SIDE], "counts": "\u00ff\u00ff"}),
        "RLE",
    )
    coco("coco-seg-text", _coco(segmentation="everywhere"), "neither polygons nor RLE")
    coco("coco-annotation-number", _coco(annotations=[5]), "needs integer 'image_id'")
    coco("coco-categories-null", _coco(categories=None), "no 'categories' list")
    coco("coco-top-list", [1, 2, 3], "top level is not an object")
    coco("coco-empty", None, "malformed JSON", raw="")
    coco(
        "coco-inf-size",
        None,
        "'width'",
        raw=json.dumps(_coco()).replace(f'"width": {SIDE}', '"width": Infinity'),
    )

    def labelme(name: str, doc: Any, *expect: str, project: bool = True) -> None:
        path = write_raw(root / name / "a.json", json.dumps(doc))
        cases.append(Case(name, "labelme", path, ("a.json", *expect), project))

    labelme("labelme-nan", _labelme([[1, 1], [float("nan"), 1], [5, 5]]), "shape #0", "NaN")
    labelme("labelme-1e12", _labelme([[1, 1], [1e12, 1], [5, 5]]), "shape #0", "far outside")
    labelme("labelme-inf", _labelme([[1, 1], [float("inf"), 1], [5, 5]]), "shape #0", "inf")
    labelme("labelme-group-list", _labelme(group_id=[1]), "'group_id'")
    labelme("labelme-points-text", _labelme(points="all"), "'points'")
    labelme("labelme-point-triple", _labelme([[1, 1, 1], [5, 1], [5, 5]]), "3 values")
    doc = _labelme()
    doc["imageWidth"] = "abc"
    labelme("labelme-size-text", doc, "'imageWidth' must be a positive integer")
    bad_classes = root / "labelme-class-id"
    write_raw(
        bad_classes / "classes.json",
        json.dumps({"classes": [{"id": 1000, "name": "cell", "color": [1, 2, 3]}]}),
    )
    labelme("labelme-class-id", _labelme(), "bad class list")

    def vector(name: str, text: str, *expect: str) -> None:
        path = write_raw(root / name / "a.geojson", text)
        cases.append(Case(name, "geojson", path, ("a.geojson", *expect), True))

    vector("geojson-null", _geojson(None), "feature #0", "no geometry")
    nan_geo = _geojson(SQUARE).replace("[5, 1]", "[NaN, 1]")
    vector("geojson-nan", nan_geo, "feature #0", "NaN")
    vector("geojson-point", _geojson({"type": "Point", "coordinates": [1, 1]}), "is a Point")
    vector("geojson-huge", _geojson(SQUARE).replace("[5, 1]", "[1e300, 1]"), "far outside")
    vector(
        "geojson-deep",
        _geojson(SQUARE)
        .replace('"coordinates": ', '"coordinates": ' + "[" * 500, 1)
        .replace("]]]}", "]]]" + "]" * 500 + "}"),
        "nested",
    )
    vector(
        "geojson-digits",
        _geojson(SQUARE).replace("[5, 1]", "[" + "5" * 5000 + ", 1]"),
        "5000 characters",
    )

    yolo = root / "yolo-nan"
    write_raw(yolo / "classes.txt", "cell\n")
    write_raw(yolo / "labels" / "a.txt", "0 0.1 nan 0.5 0.1 0.5 0.5\n")
    (yolo / "images").mkdir()
    Image.fromarray(np.zeros((SIDE, SIDE), np.uint8)).save(yolo / "images" / "a.png")
    cases.append(Case("yolo-nan", "yolo", yolo, ("a.txt:1", "normalised"), True))
    yolo2 = root / "yolo-huge-class"
    write_raw(yolo2 / "classes.txt", "cell\n")
    write_raw(yolo2 / "labels" / "a.txt", "9" * 5000 + " 0.1 0.1 0.5 0.1 0.5 0.5\n")
    (yolo2 / "images").mkdir()
    Image.fromarray(np.zeros((SIDE, SIDE), np.uint8)).save(yolo2 / "images" / "a.png")
    cases.append(Case("yolo-huge-class", "yolo", yolo2, ("a.txt:1", "class index"), True))

    pan = root / "panoptic-negative"
    doc = _coco(width=-5)
    doc["annotations"] = [{"image_id": 1, "file_name": "a.png", "segments_info": []}]
    write_raw(pan / "panoptic.json", json.dumps(doc))
    cases.append(
        Case(
            "panoptic-negative",
            "coco-panoptic",
            pan / "panoptic.json",
            ("panoptic.json", "'width'"),
        )
    )

    voc = root / "voc-truncated"
    (voc / "SegmentationClass").mkdir(parents=True)
    Image.fromarray(np.zeros((SIDE, SIDE), np.uint8), mode="L").save(
        voc / "SegmentationClass" / "a.png"
    )
    data = (voc / "SegmentationClass" / "a.png").read_bytes()
    (voc / "SegmentationClass" / "a.png").write_bytes(data[: len(data) // 2])
    cases.append(Case("voc-truncated", "voc", voc, ("a.png",), True))

    bomb = root / "png-bomb"
    bomb.mkdir()
    _png_header_only(bomb / "a.png", 100_000, 100_000)
    cases.append(Case("png-bomb", "png", bomb, ("a.png",), True))

    pickled = root / "npy-pickle"
    pickled.mkdir()
    np.save(pickled / "a.npy", np.array([[{"x": 1}]], dtype=object), allow_pickle=True)
    cases.append(Case("npy-pickle", "npy", pickled, ("a.npy", "pickle"), True))

    city = root / "cityscapes-empty"
    write_raw(city / "a_gtFine_labelIds.png", "")
    cases.append(Case("cityscapes-empty", "cityscapes", city, ("a_gtFine_labelIds.png",), True))
    return cases


DRIVER = """
import io, json, resource, sys, traceback
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from segcore.cli import main


def peak_rss():
    # VmHWM belongs to this program's memory; ru_maxrss would count the parent's too
    # when the parent (pytest) forked us while large.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


results = {}
for name, argv in json.loads(open(sys.argv[1]).read()):
    err = io.StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        rc = main(argv)
    except BaseException:
        rc = "raised"
        traceback.print_exc(file=err)
    finally:
        sys.stderr = old
    peak = peak_rss()
    results[name] = {"rc": rc, "stderr": err.getvalue(), "peak": peak}
    print("RESULT " + json.dumps({name: results[name]}), file=sys.__stdout__, flush=True)
"""


# -- random damage, for the campaign run by hand --------------------------------------

POISON: list[Any] = [
    float("nan"), float("inf"), -float("inf"), 1e300, -1e300, 10**30, -5, 0, 2**31,
    "x", "", None, [], {}, True, [[[[[[1]]]]]], 0.5,
]  # fmt: skip


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _leaves(v, (*path, i))
    return out


def mutate(doc: Any, rng: Any) -> Any:
    """``doc`` with one to three values replaced by poison, or keys deleted."""
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _leaves(doc) if p]
        if not paths:  # everything deleted already
            break
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and rng.random() < 0.2:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(POISON))
    return doc


def fuzz_corpus(root: Path, count: int, seed: int) -> list[Case]:
    """``count`` randomly damaged COCO, labelme and GeoJSON files."""
    import random

    rng = random.Random(seed)
    bases = {
        "coco": _coco(),
        "labelme": _labelme(),
        "geojson": json.loads(_geojson(SQUARE)),
    }
    cases = []
    for n in range(count):
        fmt = rng.choice(sorted(bases))
        name = "a.geojson" if fmt == "geojson" else "a.json"
        text = json.dumps(mutate(bases[fmt], rng))  # NaN/Infinity written as Python does
        path = write_raw(root / f"{n}-{fmt}" / name, text)
        cases.append(Case(f"{n}-{fmt}", fmt, path, (), fmt != "coco"))
    return cases
