"""Train an instance model (foreground, boundary, distance maps) from instance maps.

>>> job = train_instances(TrainConfig(arch="instance_unet", minutes=5), data=data)  # doctest: +SKIP

The data are images whose label readers give an ``"instance"`` layer (a
project's label store, :func:`segcore.training.instance_data.data_from_instance_masks`).
Each image keeps its bottom ``val_fraction`` of rows for validation (the whole
image when it is too small to split); training tiles are drawn at random from
the rest, augmented (flips, rotations, zoom) with their instance ids, and
their targets derived from those ids (:mod:`segcore.training.instance_targets`).
After every epoch the model runs over the validation rows, its maps are
grouped into objects (:mod:`segcore.engine.grouping`) and scored by F1 at
IoU 0.5; the best epoch's weights are kept, the grouping thresholds are tuned
on the validation rows (:data:`TUNE_GRID`), and the model is re-probed and
saved with them and its stitching margin (:data:`MARGIN_FACTOR` x the largest
labelled object side).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segcore.engine.grouping import Grouping, group
from segcore.errors import LabelError, TrainingError
from segcore.jobs import Job, Progress
from segcore.labels.box import Box, windows
from segcore.labels.schema import ClassInfo, default_color
from segcore.metrics.matching import ObjectMatcher
from segcore.models.meta import ModelMeta, Normalization
from segcore.training.config import StopReason, TrainConfig
from segcore.training.data import TrainingData
from segcore.training.instance_targets import dense_targets
from segcore.training.loop import lr_factor

BOUNDARY_WEIGHT = 2.0  # boundaries are thin: weigh their positives up
MIN_VAL_ROWS = 64
MARGIN_FACTOR = 1.5  # stitching margin / largest labelled object: predictions run larger
# thresholds tried on the validation rows after training (StarDist tunes its own too)
TUNE_GRID = {
    "foreground": (0.4, 0.5, 0.6),
    "seed": (0.3, 0.4, 0.5, 0.6, 0.7),
    "boundary": (0.3, 0.5, 0.7),
    "min_area": (8, 24),
}


@dataclass(frozen=True)
class InstanceTrainResult:
    """The best model by validation F1, its metadata (history included) and why it ended."""

    module: nn.Module
    meta: ModelMeta
    path: Path | None
    best_f1: float
    best_epoch: int
    history: tuple[dict[str, float], ...]
    stopped: StopReason
    held_out: bool
    seconds: float
    max_object: int
    grouping: Grouping
    tuned_f1: float  # validation F1 with the tuned grouping


@dataclass(frozen=True)
class _Split:
    train: tuple[tuple[int, Box], ...]
    val: tuple[tuple[int, Box], ...]
    held_out: bool


def train_instances(
    config: TrainConfig,
    *,
    data: TrainingData,
    classes: tuple[ClassInfo, ...] | None = None,
    grouping: Grouping | None = None,
    stop: threading.Event | None = None,
) -> Job[InstanceTrainResult]:
    """Train ``config.arch`` (an instance architecture) on ``data``'s instance maps.

    Yields one Progress per step (``message``: epoch and loss) and one per
    validation (F1); returns the best epoch's model. Raises TrainingError
    before any step for an architecture that is not an instance one, or data
    without instance labels.
    """
    from segcore.models.registry import get

    config.check()
    if get(config.arch).task != "instance":
        raise TrainingError(
            f"{config.arch} is a semantic architecture; train it with class maps, or choose "
            "an instance architecture (instance_unet, instance_smp_unet)"
        )
    grouping = grouping or Grouping()
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        yield Progress(0, 1, message="reading instance labels")
        largest = _check_labels(data)
        return (yield from _fit(config, data, classes, grouping, largest, stop))
    finally:
        torch.set_num_threads(threads)


def _check_labels(data: TrainingData) -> int:
    """The largest object side over all images; TrainingError if there are no objects."""
    largest = 0
    for item in data.images:
        boxes: dict[int, list[int]] = {}
        try:
            for x, y, w, h in windows(item.width, item.height, 2048):
                _object_boxes(item.labels.read("instance", x, y, w, h), x, y, boxes)
        except LabelError as exc:
            raise TrainingError(
                f"{item.name} has no instance labels ({exc}); an instance model trains on "
                "instance masks (each object its own id) or a project's instance labels"
            ) from exc
        for x0, y0, x1, y1 in boxes.values():
            largest = max(largest, x1 - x0, y1 - y0)
    if largest == 0:
        raise TrainingError(
            "the training images hold no object (every instance id is 0); label objects "
            "as instances first"
        )
    return largest


def _object_boxes(ids: np.ndarray, x: int, y: int, boxes: dict[int, list[int]]) -> None:
    from scipy import ndimage

    values, dense = np.unique(ids, return_inverse=True)
    for k, box in enumerate(ndimage.find_objects(dense.reshape(ids.shape) + 1), start=0):
        if box is None or values[k] == 0:
            continue
        ys, xs = box
        new = [x + xs.start, y + ys.start, x + xs.stop, y + ys.stop]
        old = boxes.get(int(values[k]))
        boxes[int(values[k])] = new if old is None else [
            min(old[0], new[0]), min(old[1], new[1]), max(old[2], new[2]), max(old[3], new[3])
        ]  # fmt: skip


def _split(data: TrainingData, config: TrainConfig, stride: int) -> _Split:
    train, val = [], []
    held_out = True
    for i, item in enumerate(data.images):
        rows = int(item.height * config.val_fraction) // stride * stride
        rows = max(rows, MIN_VAL_ROWS) if config.val_fraction > 0 else 0
        if rows and item.height - rows >= config.tile:
            train.append((i, Box(0, 0, item.width, item.height - rows)))
            val.append((i, Box(0, item.height - rows, item.width, rows)))
        else:
            train.append((i, Box(0, 0, item.width, item.height)))
            val.append((i, Box(0, 0, item.width, item.height)))
            held_out = False
    return _Split(tuple(train), tuple(val), held_out)


def _new_model(
    config: TrainConfig, data: TrainingData, split: _Split, classes: tuple[ClassInfo, ...] | None
) -> tuple[nn.Module, ModelMeta]:
    from segcore.models.create import create_model
    from segcore.training.survey import Block, dtype_scale, image_stats

    first = data.images[0].image
    scale = dtype_scale(first.dtype)
    blocks = [Block(i, box, np.zeros(256, np.int64)) for i, box in split.train]
    mean, std = image_stats(data, blocks, scale=scale)
    names = classes or (
        ClassInfo(0, "background", default_color(0), False),
        ClassInfo(1, "object", default_color(1), True),
    )
    return create_model(
        config.arch,
        classes=list(names),
        in_channels=first.band_count,
        encoder=config.encoder,
        tile_size=config.tile,
        normalization=Normalization(mean, std, scale),
        config=dict(config.arch_config),
    )


def _fit(
    config: TrainConfig,
    data: TrainingData,
    classes: tuple[ClassInfo, ...] | None,
    grouping: Grouping,
    largest: int,
    stop: threading.Event | None,
) -> Job[InstanceTrainResult]:
    from segcore.models.create import reprobe_job
    from segcore.models.files import save_model
    from segcore.training.augment import make_augment

    device = torch.device("cuda" if config.device != "cpu" and torch.cuda.is_available() else "cpu")
    module, meta = _new_model(config, data, _split(data, config, 1), classes)
    split = _split(data, config, meta.output_stride)
    if config.tile % meta.output_stride:
        raise TrainingError(f"tile {config.tile} is not a multiple of {meta.output_stride}")
    module.to(device)
    optimiser = torch.optim.AdamW(
        module.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    augment = make_augment(tile=config.tile, rgb8=False) if config.augment else None
    rng = np.random.default_rng(config.seed)
    area = sum(b.area for _, b in split.train)
    per_epoch = config.tiles_per_epoch or max(8 * config.batch, -(-area // config.tile**2))
    steps = max(1, per_epoch // config.batch)
    margin = -(-int(largest * MARGIN_FACTOR) // meta.output_stride) * meta.output_stride
    start = time.monotonic()
    best: tuple[float, int, dict[str, torch.Tensor] | None] = (-1.0, 0, None)
    history: list[dict[str, float]] = []
    stopped: StopReason = "completed"
    epoch, flat = 0, 0
    while True:
        epoch += 1
        module.train()
        losses = []
        for step in range(steps):
            progress = _progress(config, epoch - 1 + step / steps, start)
            for g in optimiser.param_groups:
                g["lr"] = config.lr * lr_factor(config.schedule, progress)
            x, t = _batch(data, split, config, meta.normalization, augment, rng)
            loss = instance_loss(module(x.to(device)), t.to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            if config.clip_grad:
                nn.utils.clip_grad_norm_(module.parameters(), config.clip_grad)
            optimiser.step()
            losses.append(float(loss.detach()))
            yield Progress(step + 1, steps, message=f"epoch {epoch} loss {np.mean(losses):.4f}")
            if stop is not None and stop.is_set():
                stopped = "stopped"
                break
        scores = validate(module, data, split.val, meta, grouping)
        record = {"epoch": epoch, "train_loss": float(np.mean(losses)), **scores,
                  "seconds": time.monotonic() - start}  # fmt: skip
        history.append(record)
        if scores["f1"] > best[0]:
            state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
            best, flat = (scores["f1"], epoch, state), 0
        else:
            flat += 1
        yield Progress(epoch, epoch, message=f"epoch {epoch} val F1 {scores['f1']:.3f}")
        if stopped == "stopped":
            break
        if config.epochs is not None and epoch >= config.epochs:
            break
        if config.minutes is not None and _progress(config, epoch, start) >= 1.0:
            stopped = "time"
            break
        if config.patience is not None and flat >= config.patience:
            stopped = "early_stop"
            break
    assert best[2] is not None
    module.load_state_dict(best[2])
    module.eval().cpu()
    yield Progress(0, 1, message="tuning the grouping thresholds")
    tuned, tuned_f1 = tune_grouping(module, data, split.val, meta, grouping)
    tuned = replace(tuned, max_object=margin)
    meta = yield from reprobe_job(module, meta)
    extra = dict(meta.extra)
    extra["instance"] = {"max_object": margin, "grouping": tuned.to_json(),
                         "largest_labelled_object": largest}  # fmt: skip
    history_json = tuple({"run": 1, **r} for r in history)
    meta = replace(meta, extra=extra, history=history_json)
    path = None if config.output is None else save_model(config.output, module, meta)
    return InstanceTrainResult(module, meta, path, best[0], best[1], tuple(history), stopped,
                               split.held_out, time.monotonic() - start, margin, tuned,
                               tuned_f1)  # fmt: skip


def tune_grouping(
    module: nn.Module,
    data: TrainingData,
    boxes: tuple[tuple[int, Box], ...],
    meta: ModelMeta,
    start: Grouping,
) -> tuple[Grouping, float]:
    """The :data:`TUNE_GRID` grouping with the best F1 on ``boxes`` (``start`` wins ties)."""
    import itertools

    cases = []
    for i, box in boxes:
        item = data.images[i]
        dense = predict_dense(module, np.asarray(item.image.read_region(0, *box)), meta)
        cases.append((dense, np.asarray(item.labels.read("instance", *box))))

    def f1(g: Grouping) -> float:
        matcher = ObjectMatcher(0.5)
        for dense, truth in cases:
            matcher.update(truth, group(dense, classes=meta.num_classes, options=g).labels)
        return matcher.result().f1

    best, best_f1 = start, f1(start)
    grid = TUNE_GRID
    for fg, seed, bnd, area in itertools.product(
        grid["foreground"], grid["seed"], grid["boundary"], grid["min_area"]
    ):
        g = replace(start, foreground=fg, seed=seed, boundary=bnd, min_area=int(area))
        score = f1(g)
        if score > best_f1:
            best, best_f1 = g, score
    return best, best_f1


def _progress(config: TrainConfig, epochs_done: float, start: float) -> float:
    """Share of the budget used: the larger of epochs and minutes."""
    parts = []
    if config.epochs is not None:
        parts.append(epochs_done / config.epochs)
    if config.minutes is not None:
        parts.append((time.monotonic() - start) / 60.0 / config.minutes)
    return max(parts)


def _batch(
    data: TrainingData,
    split: _Split,
    config: TrainConfig,
    norm: Normalization,
    augment: Any,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    from segcore.training.augment import apply
    from segcore.training.dataset import normalise, to_tensor

    t = config.tile
    areas = np.array([b.area for _, b in split.train], np.float64)
    images, targets = [], []
    for _ in range(config.batch):
        i, box = split.train[int(rng.choice(len(areas), p=areas / areas.sum()))]
        x = box.x + int(rng.integers(0, max(box.w - t, 0) + 1))
        y = box.y + int(rng.integers(0, max(box.h - t, 0) + 1))
        item = data.images[i]
        window = Box(x, y, t, t)
        pixels = _read(partial(item.image.read_region, 0), window, item.width, item.height)
        ids = _read(partial(item.labels.read, "instance"), window, item.width, item.height)
        image = to_tensor(pixels, norm.scale)
        labels = torch.from_numpy(ids.astype(np.int64))
        if augment is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.integers(0, 2**62)))
                image, labels, _ = apply(augment, image, labels, torch.ones(t, t))
            k = int(rng.integers(4))
            image, labels = torch.rot90(image, k, (1, 2)), torch.rot90(labels, k, (0, 1))
        images.append(normalise(image, norm))
        targets.append(torch.from_numpy(dense_targets(labels.numpy(), cut_edges=True)))
    return torch.stack(images), torch.stack(targets)


def _read(read: Callable[..., Any], window: Box, width: int, height: int) -> np.ndarray:
    """``read(x, y, w, h)`` of a window that may reach past the image, mirrored there."""
    x, y, w, h = window
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    part = np.asarray(read(x0, y0, x1 - x0, y1 - y0))
    pad = [(y0 - y, y + h - y1), (x0 - x, x + w - x1)] + [(0, 0)] * (part.ndim - 2)
    return np.pad(part, pad, mode="symmetric") if any(p != (0, 0) for p in pad) else part


def instance_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE on foreground and (weighted) boundary; BCE on the distance inside objects."""
    from torch.nn import functional as F  # noqa: N812

    fg, bnd, dist = targets[:, 0], targets[:, 1], targets[:, 2]
    loss = F.binary_cross_entropy_with_logits(logits[:, 0], fg)
    weight = 1.0 + (BOUNDARY_WEIGHT - 1.0) * bnd
    loss = loss + F.binary_cross_entropy_with_logits(logits[:, 1], bnd, weight=weight)
    inside = (fg > 0) & (dist >= 0)  # objects cut by the tile edge have no distance target
    if inside.any():
        loss = loss + F.binary_cross_entropy_with_logits(logits[:, 2][inside], dist[inside])
    return loss


def predict_dense(module: nn.Module, pixels: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """Dense logits (channels, h, w) of a small image in one pass (mirrored to the stride)."""
    from segcore.training.dataset import normalise, to_tensor

    h, w = pixels.shape[:2]
    s = meta.output_stride
    ph, pw = -(-h // s) * s - h, -(-w // s) * s - w
    if ph or pw:
        pixels = np.pad(pixels, [(0, ph), (0, pw), (0, 0)], mode="reflect")
    x = normalise(to_tensor(pixels, meta.normalization.scale), meta.normalization)[None]
    device = next(module.parameters()).device
    module.eval()
    with torch.inference_mode():
        out = module(x.to(device))[0].float().cpu().numpy()
    return np.asarray(out[:, :h, :w], np.float32)


def validate(
    module: nn.Module,
    data: TrainingData,
    boxes: tuple[tuple[int, Box], ...],
    meta: ModelMeta,
    grouping: Grouping,
) -> dict[str, float]:
    """F1, precision and recall at IoU 0.5 of the grouped prediction on ``boxes``."""
    matcher = ObjectMatcher(0.5)
    for i, box in boxes:
        item = data.images[i]
        pixels = np.asarray(item.image.read_region(0, *box))
        objects = group(predict_dense(module, pixels, meta), classes=meta.num_classes,
                        options=grouping)  # fmt: skip
        truth = np.asarray(item.labels.read("instance", *box))
        matcher.update(truth, objects.labels)
    s = matcher.result()
    return {"f1": s.f1, "precision": s.precision, "recall": s.recall}
