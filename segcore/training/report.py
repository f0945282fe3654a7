"""What a finished run tells its user: per-class figures and plain-language warnings.

The CLI prints :func:`summary_lines`; the app's Training dock shows the same
lines, so both say the same thing about the same run.
"""

from __future__ import annotations

from segcore.training.config import TrainResult

THIN = 200
"""Fewer labelled validation pixels of a class than this make its IoU a rough guess."""


def result_warnings(result: TrainResult) -> list[str]:
    """Warnings about how far the validation figures can be trusted."""
    names = {c.id: c.name for c in result.meta.classes}
    trained = [c for c, n in enumerate(result.train_pixels) if n > 0]
    out: list[str] = []
    if not result.held_out:
        out.append(
            "too few labelled regions to hold some out: the scores were measured on the "
            "training labels and flatter the model; label more places"
        )
    else:
        val = result.val_pixels
        for c in trained:
            count = val[c] if c < len(val) else 0
            if count == 0:
                out.append(
                    f"validation holds no labelled pixel of {names.get(c, c)!r}: its IoU is "
                    "not measured; label it in more places"
                )
            elif count < THIN:
                out.append(
                    f"validation holds only {count} labelled pixels of {names.get(c, c)!r}: "
                    "its IoU is a rough guess; label it in more places"
                )
    best = next((r for r in result.history if r.epoch == result.best_epoch), None)
    if best is not None and best.missed:
        missed = ", ".join(repr(names.get(c, c)) for c in best.missed)
        out.append(
            f"the saved model never predicted {missed} on the validation regions; "
            "train longer or label more of it"
        )
    return out


def summary_lines(result: TrainResult) -> list[str]:
    """The run's summary: best score, per-class IoU with pixel counts, warnings."""
    lines = [
        f"best validation mIoU {result.best_miou:.4f} at epoch {result.best_epoch} "
        f"({result.stopped}, {result.seconds:.0f} s)"
    ]
    best = next((r for r in result.history if r.epoch == result.best_epoch), None)
    train, val = result.train_pixels, result.val_pixels
    for c in result.meta.classes:
        iou = best.val_iou[c.id] if best is not None and c.id < len(best.val_iou) else None
        n_train = train[c.id] if c.id < len(train) else 0
        n_val = val[c.id] if c.id < len(val) else 0
        score = "-" if iou is None else f"{iou:.4f}"
        lines.append(
            f"  {c.name:<20} IoU {score:<7} labelled pixels: {n_train} training, {n_val} validation"
        )
    lines += [f"warning: {text}" for text in result.warnings]
    return lines
