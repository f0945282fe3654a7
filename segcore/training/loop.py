"""The training loop: a generator that yields progress with metrics and stops when asked.

>>> job = train(TrainConfig(epochs=5, tile=64), data=data)  # doctest: +SKIP
>>> for step in job:  # doctest: +SKIP
...     print(step.payload.phase, step.payload.train_loss, step.payload.val_miou)

Stopping: ``job.close()`` stops at once (the best checkpoint so far is already
in ``config.output``); setting the ``stop`` event ends the run after the current
step and returns a :class:`TrainResult` holding the best weights. Model files
are written atomically, so a crash never leaves a corrupt file behind.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from segcore.jobs import Job, Progress
from segcore.models.meta import ModelMeta
from segcore.training import ddp
from segcore.training.augment import make_augment
from segcore.training.config import (
    EpochRecord,
    Schedule,
    StopReason,
    TrainConfig,
    TrainMetrics,
    TrainResult,
)
from segcore.training.data import TrainingData
from segcore.training.dataset import TileOptions, TrainTiles, ValTiles
from segcore.training.losses import make_loss
from segcore.training.prepare import Plan, prepare
from segcore.training.report import result_warnings
from segcore.training.validation import confusion, iou_per_class, mean_iou


def lr_factor(schedule: Schedule, progress: float) -> float:
    """Learning-rate multiplier at ``progress`` in [0, 1] of the budget.

    ``poly``: ``(1 - p) ** 0.9``. ``onecycle``: cosine warm-up from 1/25 to 1 over
    the first 30 %, then cosine annealing to 1/25e4 (the shape of PyTorch's
    OneCycleLR, written as a function of progress because a budget in minutes
    does not know its step count in advance).
    """
    p = min(max(progress, 0.0), 1.0)
    if schedule == "poly":
        return float((1.0 - p) ** 0.9)
    warm, start, end = 0.3, 1.0 / 25.0, 1.0 / 25e4
    if p < warm:
        return start + (1.0 - start) * (1.0 - math.cos(math.pi * p / warm)) / 2.0
    return end + (1.0 - end) * (1.0 + math.cos(math.pi * (p - warm) / (1.0 - warm))) / 2.0


def train(
    config: TrainConfig,
    *,
    data: TrainingData,
    model: Any = None,
    stop: threading.Event | None = None,
) -> Job[TrainResult]:
    """Train a model on ``data`` (from scratch, or fine-tune ``model``).

    Parameters
    ----------
    config
        Architecture, budget, tile and batch size, loss, schedule, seed, output file.
    data
        Images with labels (see :mod:`segcore.training.data`).
    model
        None to train ``config.arch`` from scratch; a ``LoadedModel`` or a model file
        to fine-tune (new classes get new output channels). It is copied, not changed.
    stop
        Set it to end the run after the current step with a normal result.

    Yields
    ------
    Progress
        ``payload`` is a :class:`TrainMetrics` (None while the labels are read).

    Returns
    -------
    TrainResult
        The best model by validation mIoU (weights loaded), its metadata with
        the training history, and why the run ended.

    Raises
    ------
    TrainingError
        Before any training step, for input that cannot be trained on.
    """
    info = ddp.from_env()
    device = ddp.device_for(info, config.device)
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    created = False
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        if config.deterministic and device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
        torch.manual_seed(config.seed)
        plan = yield from prepare(config, data, model, world_size=info.world_size)
        created = ddp.start(info, device)
        return (yield from _fit(plan, info, device, stop))
    finally:
        ddp.stop(created)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


@dataclasses.dataclass
class _Best:
    miou: float = -1.0
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None
    key: tuple[int, float] = (-1, -1.0)


def rank(record: EpochRecord, trained: int) -> tuple[int, float]:
    """How an epoch ranks for the best checkpoint: classes it predicts first, then mIoU.

    An epoch that misses a trained class entirely (a constant prediction misses
    all but one) never wins over one that predicts them all, whatever its mIoU:
    "everything is background" scores high wherever the rare class is scarce.
    """
    return trained - len(record.missed), record.val_miou


def _fit(
    plan: Plan, info: ddp.DistInfo, device: torch.device, stop: threading.Event | None
) -> Job[TrainResult]:
    config, meta = plan.config, plan.meta
    module = plan.module.to(device)
    module.train()
    net = ddp.wrap(module, info, device)
    counts = plan.split.class_counts(len(plan.classes))
    loss_fn = make_loss(
        config.loss,
        class_counts=counts,
        weighted=config.class_weights,
        focal_gamma=config.focal_gamma,
        focal_alpha=config.focal_alpha,
    )
    optimiser = torch.optim.AdamW(
        module.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    options = TileOptions(plan.tile, meta.normalization, config.corrected_weight, plan.split.masked)
    rgb8 = meta.in_channels == 3 and meta.normalization.scale == 255.0
    augment = make_augment(tile=plan.tile, rgb8=rgb8) if config.augment else None
    tiles = TrainTiles(
        plan.data, plan.split.train, options=options, length=plan.tiles_per_epoch,
        augment=augment, seed=config.seed,
    )  # fmt: skip
    sampler: DistributedSampler[Any] | None = None
    if info.world_size > 1:
        sampler = DistributedSampler(
            tiles, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=config.seed
        )
    loader = DataLoader(
        tiles, batch_size=config.batch, sampler=sampler, shuffle=False, drop_last=True,
        num_workers=config.workers, generator=torch.Generator().manual_seed(config.seed),
    )  # fmt: skip
    val = ValTiles(plan.data, _val_blocks(plan), options=options)
    budget = config.minutes * 60.0 if config.minutes is not None else None
    total_steps = config.epochs * plan.steps_per_epoch if config.epochs is not None else None
    history: list[EpochRecord] = []
    best = _Best()
    trained = np.flatnonzero(counts > 0)
    seen_all = False  # early stopping waits until every class was predicted at least once
    start = time.monotonic()
    step, epoch, stale = 0, 0, 0
    reason: StopReason = "completed"
    while config.epochs is None or epoch < config.epochs:
        epoch += 1
        tiles.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        losses: list[float] = []
        halt = out_of_time = False
        lr = config.lr
        for images, targets, weights in loader:
            elapsed = time.monotonic() - start
            fraction = max(
                step / total_steps if total_steps else 0.0, elapsed / budget if budget else 0.0
            )
            lr = config.lr * lr_factor(config.schedule, fraction)
            for group in optimiser.param_groups:
                group["lr"] = lr
            images, targets = images.to(device), targets.to(device)
            weights = weights.to(device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                logits = net(images)
            loss = loss_fn(logits.float(), targets, weights)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.clip_grad:
                scaler.unscale_(optimiser)
                nn.utils.clip_grad_norm_(module.parameters(), config.clip_grad)
            scaler.step(optimiser)
            scaler.update()
            step += 1
            losses.append(float(loss.item()))
            elapsed = time.monotonic() - start
            metrics = TrainMetrics(
                "train", epoch, step, plan.steps_per_epoch, float(np.mean(losses)), lr, elapsed,
                best_miou=best.miou if best.state is not None else None,
            )  # fmt: skip
            yield _progress(config, plan, step, elapsed, metrics, info)
            out_of_time = budget is not None and elapsed >= budget
            halt = stop is not None and stop.is_set()
            halt = ddp.any_true(halt, info, device)
            out_of_time = ddp.any_true(out_of_time, info, device)
            if halt or out_of_time:
                break
        if halt and best.state is not None:
            reason = "stopped"
            break
        record = _validate(
            module, val, plan, trained, epoch, losses, lr, start, info, device, use_amp
        )
        history.append(record)
        # ties go to the later epoch (sparse labels often score 1.0 early while the
        # model keeps improving on the pixels nobody labelled); only a real gain
        # resets the early-stopping patience, which starts counting once every
        # class has been predicted
        key = rank(record, len(trained))
        seen_all = seen_all or not record.missed
        gain = key[0] > best.key[0] or (key[0] == best.key[0] and key[1] > best.key[1] + 1e-9)
        stale = 0 if gain or not seen_all else stale + 1
        if key[0] > best.key[0] or (key[0] == best.key[0] and key[1] >= best.key[1]):
            best = _Best(record.val_miou, epoch, _copy_state(module), key)
            _save(config, info, module, _with_history(meta, plan, history))
        metrics = TrainMetrics(
            "val", epoch, step, plan.steps_per_epoch, record.train_loss, lr, record.seconds,
            val_miou=record.val_miou, best_miou=best.miou, record=record,
        )  # fmt: skip
        yield _progress(config, plan, step, record.seconds, metrics, info)
        if halt:
            reason = "stopped"
            break
        if out_of_time:
            reason = "time"
            break
        if config.patience is not None and stale >= config.patience:
            reason = "early_stop"
            break
    if best.state is not None:
        module.load_state_dict(best.state)
    module.eval()
    final = _with_history(meta, plan, history)
    if info.is_main:
        # Training widens what a network looks at: measure the receptive field again
        # so exact tiling of the trained model stays exact.
        from segcore.models.create import reprobe_job

        final = yield from reprobe_job(module, final)
    _save(config, info, module, final)
    if config.output is not None and info.is_main and config.onnx_copy:
        from segcore.models.onnx_cache import copy_after_write

        yield from copy_after_write(config.output)  # no inference pays for the export
    result = TrainResult(
        module=module,
        meta=final,
        path=config.output,
        best_miou=best.miou,
        best_epoch=best.epoch,
        history=tuple(history),
        stopped=reason,
        held_out=plan.split.held_out,
        seconds=time.monotonic() - start,
        train_pixels=tuple(int(v) for v in counts),
        val_pixels=val.labelled_counts(len(plan.classes)),
    )
    return dataclasses.replace(result, warnings=(*plan.warnings, *result_warnings(result)))


def _val_blocks(plan: Plan) -> tuple[Any, ...]:
    """Validation blocks, thinned evenly so at most ``max_val_tiles`` tiles are scored."""
    blocks = plan.split.val
    per_block = max(1, -(-blocks[0].box.w // plan.tile) * -(-blocks[0].box.h // plan.tile))
    keep = max(1, plan.config.max_val_tiles // per_block)
    if len(blocks) <= keep:
        return blocks
    picks = np.linspace(0, len(blocks) - 1, keep).round().astype(int)
    return tuple(blocks[i] for i in sorted(set(picks.tolist())))


def _validate(
    module: nn.Module,
    val: ValTiles,
    plan: Plan,
    trained: np.ndarray,
    epoch: int,
    losses: list[float],
    lr: float,
    start: float,
    info: ddp.DistInfo,
    device: torch.device,
    use_amp: bool,
) -> EpochRecord:
    """Score this rank's share of the validation tiles; sum confusion over ranks.

    Besides the confusion over labelled pixels, counts what the model predicts
    on every valid pixel of the validation regions, to tell which trained
    classes it never predicts.
    """
    n = len(plan.classes)
    conf = np.zeros((n, n + 1), np.int64)
    predicted = np.zeros(n + 1, np.int64)
    ddp.sync_buffers(module, info)
    module.eval()
    mine = list(range(info.rank, len(val), info.world_size))
    with torch.no_grad():
        for i in range(0, len(mine), plan.config.batch):
            items = [val[j] for j in mine[i : i + plan.config.batch]]
            images = torch.stack([it[0] for it in items]).to(device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                pred = module(images).argmax(1).cpu().numpy()
            target = torch.stack([it[1] for it in items]).numpy()
            scored = torch.stack([it[2] for it in items]).numpy() > 0
            conf += confusion(pred, target, n)
            predicted += np.bincount(np.minimum(pred[scored], n), minlength=n + 1)
    module.train()
    conf = ddp.all_sum(torch.from_numpy(conf), info, device).numpy()
    predicted = ddp.all_sum(torch.from_numpy(predicted), info, device).numpy()
    mean_loss = float(np.mean(losses)) if losses else float("nan")
    loss_sum = ddp.all_sum(torch.tensor([mean_loss], dtype=torch.float64), info, device)
    ious = iou_per_class(conf)
    return EpochRecord(
        epoch=epoch,
        train_loss=float(loss_sum.item()) / info.world_size,
        val_miou=mean_iou(conf),
        val_iou=tuple(None if np.isnan(v) else float(v) for v in ious),
        lr=lr,
        seconds=time.monotonic() - start,
        run=plan.run,
        missed=tuple(int(c) for c in trained if predicted[c] == 0),
    )


def _copy_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def _with_history(meta: ModelMeta, plan: Plan, history: list[EpochRecord]) -> ModelMeta:
    records = plan.previous_history + tuple(r.to_json() for r in history)
    return dataclasses.replace(meta, history=records)


def _save(config: TrainConfig, info: ddp.DistInfo, module: nn.Module, meta: ModelMeta) -> None:
    if config.output is not None and info.is_main:
        from segcore.models.files import save_model

        save_model(config.output, module, meta)


def _progress(
    config: TrainConfig,
    plan: Plan,
    step: int,
    elapsed: float,
    metrics: TrainMetrics,
    info: ddp.DistInfo,
) -> Progress:
    rate = step * config.batch * info.world_size / elapsed if elapsed > 0 else None
    if config.epochs is not None:
        done, total = step, config.epochs * plan.steps_per_epoch
    else:
        done, total = int(elapsed), int((config.minutes or 0) * 60)
    text = f"epoch {metrics.epoch} step {step}"
    if metrics.train_loss is not None:
        text += f" loss {metrics.train_loss:.4f}"
    if metrics.val_miou is not None:
        text += f" val mIoU {metrics.val_miou:.3f}"
    return Progress(done, total, text, rate=rate, payload=metrics)
