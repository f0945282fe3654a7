"""Check an inference request and decide what it can decide before any work starts.

Everything here is cheap (no forward pass, no threads, no files written), so
``infer()`` can raise a clear error at call time: bands that do not match the
model, a tile too small for the halo, a region outside the image. The result
is a frozen :class:`Setup`; the job then picks its runner
(:func:`segcore.engine.backend.make_runner`) and plans its tiles once
(:func:`segcore.engine.tiling.tile_plan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from segcore.engine.backend import ModelLike, ModelRef, open_model, pick_device
from segcore.engine.options import InferOptions
from segcore.engine.tiling import check_request
from segcore.errors import InferenceError, ModelError
from segcore.io.source import ImageSource


@dataclass(frozen=True)
class Setup:
    """A checked request: the image, the model, how and where it runs."""

    source: ImageSource
    owns_source: bool  # opened from a path here: closed when the job ends
    model: ModelRef
    device: str
    mode: Literal["exact", "blend"]
    batch: int
    notices: tuple[str, ...]

    def close(self) -> None:
        if self.owns_source:
            self.source.close()


def open_source(source: ImageSource | str | Path) -> tuple[ImageSource, bool]:
    if isinstance(source, str | Path):
        from segcore.io import open_image

        return open_image(source), True
    return source, False


def prepare(
    source: ImageSource,
    model: ModelLike | str | Path,
    options: InferOptions,
    *,
    owns_source: bool = False,
) -> Setup:
    """Resolve model, mode, device and batch and check bands, tile, halo and region."""
    ref = open_model(model)
    meta, name = ref.meta, ref.name
    _check_bands(name, meta.in_channels, source, options.bands)
    notices: list[str] = []
    exact_ok = meta.exact and meta.receptive_field is not None
    if options.mode == "exact" and not exact_ok:
        raise InferenceError(
            f"{name} cannot give exact tiles (its probe found global context or no bounded "
            "receptive field); use --mode blend or --mode auto"
        )
    mode: Literal["exact", "blend"] = "exact" if options.mode != "blend" and exact_ok else "blend"
    if options.mode == "auto" and mode == "blend":
        notices.append(
            f"{name} has global context, so tiles are blended (Gaussian) and "
            "may differ slightly from a whole-image pass"
        )
    check_request(source.width, source.height, meta=meta, mode=mode, options=options)
    rf = meta.receptive_field
    if mode == "exact" and rf is not None and options.halo is not None and options.halo < rf:
        notices.append(
            f"halo {options.halo} is below the measured receptive field {rf}; "
            "tile seams may differ slightly from a whole-image pass"
        )
    device = pick_device(options.device)
    batch = options.batch or (4 if device.startswith("cuda") else 1)
    if batch < 1:
        raise InferenceError(f"batch must be at least 1, got {batch}")
    return Setup(source, owns_source, ref, device, mode, batch, tuple(notices))


def _check_bands(name: str, needed: int, source: ImageSource, bands: Sequence[int] | None) -> None:
    """Band numbers inside the image, as many as the model takes; hints that can work."""
    count = source.band_count
    if bands is not None and any(not 1 <= b <= count for b in bands):
        raise InferenceError(
            f"{source.path}: --bands {','.join(map(str, bands))} names bands outside "
            f"1..{count} (the image has {count} band{'s' if count != 1 else ''})"
        )
    used = count if bands is None else len(bands)
    if used == needed:
        return
    given = f"{source.path} has {count}" if bands is None else f"--bands picks {used}"
    if count >= needed:
        hint = ",".join(str(i + 1) for i in range(needed))
        raise ModelError(
            f"{name} expects {needed} input band(s) but {given}; choose {needed} of its "
            f"{count} bands with --bands (e.g. --bands {hint}) or use a model made for "
            f"{used} bands"
        )
    raise ModelError(
        f"{name} expects {needed} input band(s) but {source.path} has only {count}; "
        f"use a model made for {count} band{'s' if count != 1 else ''} "
        "(train one on this kind of image)"
    )
