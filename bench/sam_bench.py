"""Promptable (SAM-family) benchmark: encoder per window, decoder per click, click to
preview in the app, cache size per megapixel. Real-size architectures at random init
(the same compute as the published weights; the masks mean nothing).

Run by hand (CPU; the app part offscreen)::

    uv run python bench/sam_bench.py --variants vit_b sam2_hiera_t
    # MobileSAM's TinyViT code is not installable from PyPI beside torch >= 2.14; its copy
    # inside the samexporter wheel is used when that wheel is unpacked and named here:
    pip download --no-deps -d /tmp/sx samexporter==0.5.0 && unzip -q -d /tmp/sx /tmp/sx/*.whl
    uv run python bench/sam_bench.py --variants mobile_sam --code /tmp/sx --app mobile_sam

Measures, per variant: the one-off export (seconds, file sizes), the encoder on one
1024 x 1024 window (median of --windows runs after one warm-up), the decoder for one
click (p50 / p95 of --clicks), ``PromptSession.predict`` (decoder plus mask to window
pixels: what the tool runs on the GUI thread per click), and the bytes one cached
window takes. ``--app VARIANT`` also opens a 50k x 50k image in the real window, waits
for the view's embedding, then clicks: press-to-preview time p50 / p95 with the
embedding cached, and whether any click started the encoder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def export_pair(variant: str, folder: Path) -> tuple[dict[str, Any], Any]:
    from segcore.models.sam.export import build, export_module
    from segcore.models.sam.pair import Pair, describe

    t0 = time.perf_counter()
    module = build(variant)
    encoder, decoder = export_module(variant, module, folder / variant)
    seconds = time.perf_counter() - t0
    params = sum(p.numel() for p in module.parameters()) / 1e6
    pair = Pair(variant, encoder.parent, describe(variant, encoder, decoder))
    info = {
        "export_s": round(seconds, 1),
        "parameters_m": round(params, 1),
        "encoder_mb": round(encoder.stat().st_size / 2**20, 1),
        "decoder_mb": round(decoder.stat().st_size / 2**20, 1),
    }
    return info, pair


def engine(variant: str, folder: Path, windows: int, clicks: int) -> dict[str, Any]:
    import numpy as np

    from segcore.io.array import ArraySource
    from segcore.models.sam.runtime import Prompt, PromptModel
    from segcore.prompt.embeddings import EmbeddingCache
    from segcore.prompt.session import Prompts, PromptSession

    info, pair = export_pair(variant, folder)
    model = PromptModel(pair)
    rng = np.random.default_rng(0)
    s = model.meta.input_size
    pixels = rng.uniform(0, 255, (s, s, 3)).astype(np.float32)
    model.encode(pixels)  # warm-up (allocations, thread pool)
    enc, enc_cpu = [], []
    for _ in range(windows):
        t0, c0 = time.perf_counter(), time.process_time()
        embedding = model.encode(pixels)
        enc.append(time.perf_counter() - t0)
        enc_cpu.append(time.process_time() - c0)
    dec, dec_cpu = [], []
    for _ in range(clicks):
        p = Prompt(rng.uniform(0, s, (1, 2)).astype(np.float32), np.array([1]))
        t0, c0 = time.perf_counter(), time.process_time()
        model.decode(embedding, p)
        dec.append((time.perf_counter() - t0) * 1000)
        dec_cpu.append((time.process_time() - c0) * 1000)
    image = ArraySource(rng.integers(0, 255, (s, s, 3), dtype=np.uint8), name="bench")
    cache = EmbeddingCache("bench", pair.meta.encoder_digest, root=folder / "cache" / variant)
    session = PromptSession(image, model, cache=cache)
    window = session.window_for_view(session_box(s))
    cache.put(window, embedding)
    window_bytes = cache.size_bytes()
    pred = []
    for _ in range(clicks):
        x, y = rng.uniform(0, s - 1, 2)
        t0 = time.perf_counter()
        session.predict(window, embedding, Prompts(((float(x), float(y), 1),)))
        pred.append((time.perf_counter() - t0) * 1000)
    mpx = window.w * window.h / 1e6
    return {
        **info,
        "device": model.device,
        "encoder_s_median": round(sorted(enc)[len(enc) // 2], 2),
        "encoder_s_min": round(min(enc), 2),
        # CPU seconds the process spent (all its threads): what the work costs when the
        # machine is not shared; wall time above it is waiting for a core
        "encoder_cpu_s_median": round(sorted(enc_cpu)[len(enc_cpu) // 2], 2),
        "decoder_cpu_ms_p50": round(percentile(dec_cpu, 50), 1),
        "decoder_ms_p50": round(percentile(dec, 50), 1),
        "decoder_ms_p95": round(percentile(dec, 95), 1),
        "predict_ms_p50": round(percentile(pred, 50), 1),
        "predict_ms_p95": round(percentile(pred, 95), 1),
        "cache_mb_per_window": round(window_bytes / 2**20, 2),
        "cache_mb_per_window_mpx": round(window_bytes / 2**20 / mpx, 2),
        # windows overlap by half: each level pixel lies in ~4 cached windows
        "cache_mb_per_level_mpx_precomputed": round(4 * window_bytes / 2**20 / mpx, 2),
    }


def session_box(s: int) -> Any:
    from segcore.labels.box import Box

    return Box(0, 0, s, s)


def app(variant: str, folder: Path, clicks: int, size: int) -> dict[str, Any]:
    import numpy as np
    from PySide6.QtCore import QCoreApplication, QPoint, Qt
    from PySide6.QtTest import QTest

    from app.main import make_application

    _, pair = export_pair(variant, folder)
    os.environ["TESSERA_MODELS_DIR"] = str(folder / "models")
    os.environ["TESSERA_CACHE_DIR"] = str(folder / "cache")
    from segcore.models.sam.store import add_pair

    add_pair("bench", variant, pair.encoder, pair.decoder)
    qapp = make_application()
    from app.session import document_for
    from app.tools.segment_anything import SegmentAnythingTool
    from app.window import MainWindow
    from segcore.io.array import ArraySource
    from segcore.labels.schema import make_classes
    from segcore.project import Project

    pixels = np.broadcast_to(np.array([40, 90, 160], np.uint8), (size, size, 3))  # no memory
    doc = document_for(ArraySource(pixels, name="big"))
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    projects = window.annotation.projects
    project = Project.create(folder / "proj", classes=make_classes(["a", "b"], {"b"}))
    projects._set_project(project)
    entry = project.add_image(folder / "big.tif", width=size, height=size)
    projects.show(entry.id, doc, project.editor(entry.id))
    canvas, ctx = window.canvas, window.annotation.ctx

    def pump_until(done: Any, timeout: float = 600.0) -> None:
        end = time.perf_counter() + timeout
        while not done() and time.perf_counter() < end:
            QCoreApplication.processEvents()

    canvas.center_on(size / 2, size / 2)
    canvas.viewport.set_zoom(1.0)
    canvas.repaint()
    window.annotation.toolbar.choose("segment_anything")
    ctx.set_class(1)
    tool = canvas.tool
    assert isinstance(tool, SegmentAnythingTool)
    t0 = time.perf_counter()
    pump_until(lambda: tool.embedding is not None)
    first_view_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    lat, waited, recentred = [], 0, 0
    for i in range(clicks):
        if i % 5 == 0:
            tool.clear()  # a new object every five clicks
        sx, sy = rng.uniform(300, 1000), rng.uniform(250, 600)
        t0 = time.perf_counter()
        QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(round(sx), round(sy)))  # fmt: skip
        canvas.repaint()  # the preview on screen
        lat.append((time.perf_counter() - t0) * 1000)
        waited += int(tool.prediction is None)  # no preview: the click waits for the encoder
        recentred += int(tool._pending is not None)
    window.close()
    qapp.processEvents()
    return {
        "image": f"{size}x{size}",
        "level": tool.window.level if tool.window else None,
        "first_view_embedding_s": round(first_view_s, 2),
        "click_to_preview_ms_p50": round(percentile(lat, 50), 1),
        "click_to_preview_ms_p95": round(percentile(lat, 95), 1),
        "clicks_that_waited_for_the_encoder": waited,
        "clicks_that_recentred_in_the_background": recentred,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=["vit_b", "sam2_hiera_t"])
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=100)
    parser.add_argument("--app", help="variant to time click-to-preview with in the app")
    parser.add_argument("--size", type=int, default=50_000, help="app image side")
    parser.add_argument("--code", type=Path, help="folder holding MobileSAM's code (samexporter)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.code:
        sys.path.insert(0, str(args.code))
    folder = Path(tempfile.mkdtemp(prefix="tessera_sam_bench_"))
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    for variant in args.variants:
        results[variant] = engine(variant, folder, args.windows, args.clicks)
        print(variant, json.dumps(results[variant]), flush=True)
    if args.app:
        results["app"] = {args.app: app(args.app, folder / "app", args.clicks, args.size)}
        print("app", json.dumps(results["app"]), flush=True)
    results["load_after"] = os.getloadavg()
    print("load average before / after:", results["load_before"], results["load_after"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
