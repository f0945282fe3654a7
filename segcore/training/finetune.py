"""Start training from an existing model, growing its output for classes added since.

Output channel ``i`` of a Tessera model is class id ``i``. When the project has
gained classes, the final 1x1 classifier convolution gets new output channels:
the weights and bias of the existing classes are copied unchanged, the new
rows start from a fresh convolution's default initialisation, and every other
layer keeps its trained weights. The project's classes are laid on the model's
channels by name (:func:`by_name`): a class list edited since the model was
trained (classes reordered, renamed, deleted) still trains the right channels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from segcore.errors import TrainingError
from segcore.labels import classmatch
from segcore.labels.schema import ClassInfo
from segcore.models.meta import ModelMeta


def classifier(module: nn.Module, num_classes: int) -> tuple[str, nn.Conv2d]:
    """Name and layer of the final convolution that produces the class logits."""
    found: tuple[str, nn.Conv2d] | None = None
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Conv2d) and layer.out_channels == num_classes:
            found = (name, layer)
    if found is None:
        raise TrainingError(
            f"cannot find the model's classifier (a Conv2d with {num_classes} outputs); "
            "train a new model instead of fine-tuning this one"
        )
    return found


def merged_classes(
    old: Sequence[ClassInfo], new: Sequence[ClassInfo] | None
) -> tuple[ClassInfo, ...]:
    """The classes to fine-tune with: ``new`` must keep every old id; ids must be 0..n-1."""
    if new is None:
        return tuple(old)
    by_id = {c.id: c for c in new}
    missing = [c.name for c in old if c.id not in by_id]
    if missing:
        raise TrainingError(
            f"the model predicts classes {missing} that the labels' class list lacks; "
            "fine-tuning cannot drop a class, train a new model instead"
        )
    ids = sorted(by_id)
    if ids != list(range(len(ids))):
        raise TrainingError(f"class ids must be 0..{len(ids) - 1} without gaps, got {ids}")
    return tuple(by_id[i] for i in ids)


def by_name(
    model: Sequence[ClassInfo], labels: Sequence[ClassInfo]
) -> tuple[tuple[ClassInfo, ...], np.ndarray]:
    """The labels' classes laid out on the model's channels, matched by name.

    A class of the model keeps its channel and takes the labels' name, colour and
    kind (a renamed class is found by its old name); a model class the labels no
    longer have keeps its channel, unlabelled; classes the model lacks get new
    channels after its own. Returns the classes and the (256,) table from label ids
    to channels. When no name matches at all (ids from mask files, "class 0"...), the
    ids are taken as channels, as they are.
    """
    if not any(classmatch.find(m, labels) is not None for m in model):
        return tuple(labels), np.arange(256, dtype=np.uint8)
    merged = []
    for m in model:
        match = classmatch.find(m, labels)
        merged.append(m if match is None else dataclasses.replace(match, id=m.id))
    for c in labels:
        if classmatch.find(c, model) is None:
            merged.append(dataclasses.replace(c, id=len(merged)))
    return tuple(merged), classmatch.lookup(labels, merged)


def expand_classes(
    module: nn.Module, meta: ModelMeta, classes: Sequence[ClassInfo]
) -> tuple[nn.Module, ModelMeta]:
    """Give ``module`` one output channel per class in ``classes`` (in place) and new meta.

    Parameters
    ----------
    module, meta
        The trained model and its metadata.
    classes
        The new class list; it holds every class of ``meta`` with the same id.

    Returns
    -------
    (module, meta)
        The same module object (its classifier replaced if it grew) and meta
        with the new class list.
    """
    classes = merged_classes(meta.classes, classes)
    old_n, new_n = meta.num_classes, len(classes)
    new_meta = dataclasses.replace(meta, classes=classes)
    if new_n == old_n:
        return module, new_meta
    name, old = classifier(module, old_n)
    grown = nn.Conv2d(
        old.in_channels,
        new_n,
        old.kernel_size,  # type: ignore[arg-type]
        stride=old.stride,  # type: ignore[arg-type]
        padding=old.padding,  # type: ignore[arg-type]
        dilation=old.dilation,  # type: ignore[arg-type]
        groups=old.groups,
        bias=old.bias is not None,
    ).to(old.weight.device, old.weight.dtype)
    with torch.no_grad():
        grown.weight[:old_n].copy_(old.weight)
        if old.bias is not None and grown.bias is not None:
            grown.bias[:old_n].copy_(old.bias)
    parent_name, _, attr = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, attr, grown)
    return module, new_meta
