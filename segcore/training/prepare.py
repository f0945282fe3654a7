"""Everything checked and built before the first training step.

Bad input is refused here with a :class:`TrainingError`, before any weight
changes: no labels, labels only on nodata, a single labelled class (a 0/255
binary mask is explained), class ids the model does not know, images whose
band count differs from the model's input, a tile size the model cannot take.
What can be trained on but deserves a word (a class with very few pixels)
becomes a warning, yielded as ``Progress(message="warning: ...")`` and kept
in :attr:`Plan.warnings`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from segcore.errors import TrainingError
from segcore.jobs import Progress
from segcore.labels.classmatch import Relabelled
from segcore.labels.schema import ClassInfo
from segcore.models.meta import ModelMeta, Normalization
from segcore.training import survey as surveying
from segcore.training.config import TrainConfig
from segcore.training.data import TrainingData
from segcore.training.finetune import by_name, expand_classes, merged_classes
from segcore.training.split import Split, split_blocks
from segcore.training.survey import Block


@dataclass
class Plan:
    """The checked inputs of a run: data split, model, metadata and history so far."""

    config: TrainConfig
    data: TrainingData
    classes: tuple[ClassInfo, ...]
    split: Split
    module: nn.Module
    meta: ModelMeta
    previous_history: tuple[dict[str, Any], ...]
    run: int
    tile: int
    steps_per_epoch: int
    tiles_per_epoch: int
    warnings: list[str] = field(default_factory=list)


def block_size(config: TrainConfig) -> int:
    """The split block: ``config.block`` or twice the tile, rounded up to whole tiles."""
    wanted = config.block or 2 * config.tile
    return -(-wanted // config.tile) * config.tile


def prepare(
    config: TrainConfig,
    data: TrainingData,
    model: Any,
    *,
    world_size: int = 1,
) -> Generator[Progress, None, Plan]:
    """Survey and check the labels, split them, and build or adapt the model.

    ``model`` is None (train ``config.arch`` from scratch), a ``LoadedModel``
    or the path of a model file (fine-tune it).
    """
    config.check()
    if not data.images:
        raise TrainingError("no labelled images to train on; label some pixels first")
    loaded = _load(model)
    _check_semantic(config.arch if loaded is None else loaded[1].arch)
    if loaded is not None and data.classes is not None:
        data = _on_model_channels(data, loaded[1].classes)
    blocks: list[Block] = []
    block = block_size(config)
    on_nodata = unlabelled = 0
    for i, item in enumerate(data.images):
        yield Progress(i, len(data.images), f"reading labels of {item.name}")
        one = TrainingData((item,), data.classes)
        found = surveying.survey_labels(one, block=block)
        blocks += [Block(i, b.box, b.counts) for b in found.blocks]
        on_nodata += found.on_nodata
        unlabelled += found.unlabelled
    yield Progress(len(data.images), len(data.images), "labels read")
    classes = _classes(data, blocks, loaded)
    warnings = surveying.check_labels(
        blocks, classes, data, on_nodata=on_nodata, unlabelled=unlabelled
    )
    bands, dtype = _check_images(data, loaded)
    yield Progress(0, 0, "choosing validation regions")
    split = split_blocks(
        blocks, val_fraction=config.val_fraction, seed=config.seed, data=data, tile=config.tile
    )
    for text in warnings:
        yield Progress(0, 0, f"warning: {text}")
    if loaded is None:
        module, meta = _new_model(config, data, split, classes, bands, dtype)
        history: tuple[dict[str, Any], ...] = ()
        run = 1
    else:
        module, meta = expand_classes(copy.deepcopy(loaded[0]), loaded[1], classes)
        history = meta.history
        run = 1 + max((int(h.get("run", 1)) for h in history), default=0)
    _check_tile(config.tile, meta.output_stride)
    per_step = config.batch * world_size
    per_epoch = config.tiles_per_epoch or _default_tiles(split, config.tile, per_step)
    per_epoch = max(per_step, -(-per_epoch // per_step) * per_step)
    return Plan(
        config,
        data,
        classes,
        split,
        module,
        meta,
        history,
        run,
        config.tile,
        per_epoch // per_step,
        per_epoch,
        warnings,
    )


def _check_semantic(arch: str) -> None:
    from segcore.models.registry import get

    if get(arch).task != "semantic":
        raise TrainingError(
            f"{arch} is an instance architecture: it trains on instance labels "
            "(segcore.training.instance_loop.train_instances, tessera train --arch "
            f"{arch}), not on class maps"
        )


def _load(model: Any) -> tuple[nn.Module, ModelMeta] | None:
    from segcore.models.files import load_model

    if model is None:
        return None
    if isinstance(model, str | Path):
        model = load_model(model)
    module, meta = getattr(model, "module", None), getattr(model, "meta", None)
    if not isinstance(module, nn.Module) or not isinstance(meta, ModelMeta):
        raise TrainingError(f"cannot fine-tune {model!r}: give a model file or a LoadedModel")
    return module, meta


def _classes(
    data: TrainingData, blocks: list[Block], loaded: tuple[nn.Module, ModelMeta] | None
) -> tuple[ClassInfo, ...]:
    if loaded is None:
        return surveying.resolve_classes(data, blocks)
    meta = loaded[1]
    if data.classes is None:
        # unnamed ids (mask folders): the model's classes; higher ids are refused below
        return meta.classes
    return merged_classes(meta.classes, data.classes)


def _on_model_channels(data: TrainingData, model: tuple[ClassInfo, ...]) -> TrainingData:
    """``data`` with its class ids read as the model's channels (classes matched by name)."""
    classes, table = by_name(model, data.classes or ())
    if classes == data.classes:
        return data
    images = tuple(
        dataclasses.replace(item, labels=Relabelled(item.labels, table, classes))
        for item in data.images
    )
    return TrainingData(images, classes, data.from_mask_files)


def _check_images(
    data: TrainingData, loaded: tuple[nn.Module, ModelMeta] | None
) -> tuple[int, np.dtype[Any]]:
    first = data.images[0].image
    bands = loaded[1].in_channels if loaded is not None else first.band_count
    for item in data.images:
        src = item.image
        if src.band_count != bands:
            whose = "the model takes" if loaded is not None else f"{data.images[0].name} has"
            raise TrainingError(
                f"{item.name} has {src.band_count} band(s) but {whose} {bands}; "
                "train on images with the same bands (or a new model for these)"
            )
        if loaded is None and src.dtype != first.dtype:
            raise TrainingError(
                f"{item.name} has pixel type {src.dtype} but {data.images[0].name} has "
                f"{first.dtype}; a model is trained on one pixel type"
            )
    return bands, first.dtype


def _new_model(
    config: TrainConfig,
    data: TrainingData,
    split: Split,
    classes: tuple[ClassInfo, ...],
    bands: int,
    dtype: np.dtype[Any],
) -> tuple[nn.Module, ModelMeta]:
    from segcore.models.create import create_model
    from segcore.models.registry import get

    entry = get(config.arch)
    _check_tile(config.tile, entry.stride_for(config.arch_config))
    scale = surveying.dtype_scale(dtype)
    mean, std = surveying.image_stats(data, split.train, scale=scale)
    return create_model(
        config.arch,
        classes=list(classes),
        in_channels=bands,
        encoder=config.encoder,
        pretrained=config.pretrained,
        tile_size=max(config.tile, entry.tile_size),
        normalization=Normalization(mean, std, scale),
        config=dict(config.arch_config),
    )


def _check_tile(tile: int, stride: int) -> None:
    if tile % stride:
        lower, upper = (tile // stride) * stride, -(-tile // stride) * stride
        raise TrainingError(
            f"tile {tile} is not a multiple of the model's output stride {stride}; "
            f"use {lower or upper} or {upper}"
        )


MIN_STEPS = 8
"""The fewest steps an epoch takes by default: a small labelled area would otherwise
validate after every step, and early stopping's patience (in epochs) would end a
run after a few steps."""


def _default_tiles(split: Split, tile: int, per_step: int) -> int:
    """As many tiles as cover the training blocks once, and at least :data:`MIN_STEPS` steps."""
    cover = sum(-(-b.box.w // tile) * -(-b.box.h // tile) for b in split.train)
    return max(cover, MIN_STEPS * per_step)
