"""Measure a model's receptive field and whether overlap-tile inference can be exact.

The probe works on the actual module (a float32 copy, eval mode, CPU):

1. **Gradient map.** On a random input of size L, the gradient of a random
   projection of the logits in the centre ``stride x stride`` block (every output
   phase) with respect to the input shows which pixels the centre depends on.
   The radius ``r`` is the smallest Chebyshev distance from the block beyond which
   the gradient mass is below ``tolerance`` of the total. If the mass in the
   outer ring of the input is above tolerance, the input is too small: L grows
   1.5x up to ``max_size``; still reaching the border at ``max_size`` means global
   context (image pooling, pyramid pooling, attention) or a receptive field too
   large to tile exactly.
2. **Perturbation check.** Gradients only see the current ReLU / max-pool
   pattern, so the radius is confirmed by replacing every input pixel farther
   than ``r`` with new random values: no centre logit may move by more than
   ``tolerance * max |centre logit|``. Otherwise ``r`` grows by one stride.
3. **Shift equivariance.** The input cropped by a stride-aligned offset must give
   the same centre logits, shifted; otherwise tile origins cannot be aligned
   and inference cannot be exact.

:func:`probe` is a job (a probe takes up to tens of seconds on a CPU): it
yields progress at each probe size, and closing it stops between two.
:func:`probe_model` runs it to its end.

Tolerance: ``1e-5`` relative by default. float32 is enough at this tolerance:
rounding in a logit is ~1e-7 of its size, and the small gradients in the tail
are products of small numbers, accurate in relative terms. float64 would be
3-5 times slower on CPU for no change in the radius.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from segcore.jobs import Job, Progress, run_to_end

if TYPE_CHECKING:
    import torch
    from torch import nn

DEFAULT_TOLERANCE = 1e-5
# radii reported for these tolerances too (from the gradient map, not re-checked)
PROFILE_TOLERANCES = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found.

    ``receptive_field`` is the radius in pixels (Chebyshev distance from an output
    pixel) beyond which input changes move no logit by more than the tolerance;
    ``None`` when unbounded (global context). ``exact`` says overlap-tile inference
    with halo >= receptive_field and origins on multiples of ``output_stride``
    equals whole-image inference.
    """

    receptive_field: int | None
    exact: bool
    output_stride: int
    tolerance: float
    reason: str
    probe_size: int = 0
    seconds: float = 0.0
    radii: tuple[tuple[float, int], ...] = ()  # (tolerance, radius) from the gradient map


def _distance_map(size: int, lo: int, hi: int) -> torch.Tensor:
    """Chebyshev distance of each pixel of a size x size grid from the block [lo, hi)^2."""
    import torch

    idx = torch.arange(size)
    d1 = torch.clamp(torch.maximum(lo - idx, idx - (hi - 1)), min=0)
    return torch.maximum(d1[:, None], d1[None, :])


def _radius_from_gradient(grad: torch.Tensor, dist: torch.Tensor, tolerance: float) -> int:
    """Smallest r with gradient mass at distance > r below ``tolerance`` of the total."""
    import torch

    total = float(grad.sum())
    if total == 0.0:
        return 0
    per_d = torch.zeros(int(dist.max()) + 1, dtype=grad.dtype)
    per_d.index_add_(0, dist.flatten(), grad.flatten())
    # beyond[r] = mass at distance > r
    beyond = per_d.flip(0).cumsum(0).flip(0) - per_d
    ok = (beyond <= tolerance * total).nonzero()
    return int(ok[0]) if len(ok) else int(dist.max())


def probe_model(module: nn.Module, **options: Any) -> ProbeResult:
    """:func:`probe` run to its end (the same keywords)."""
    return run_to_end(probe(module, **options))


def probe(
    module: nn.Module,
    *,
    in_channels: int,
    output_stride: int,
    global_context: bool = False,
    max_size: int = 512,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> Job[ProbeResult]:
    """Measure ``module``'s receptive field radius and decide if tiling can be exact (a job).

    Parameters
    ----------
    module
        The model; it is copied, so the caller's module is left as it is.
    in_channels
        Input bands.
    output_stride
        The input size multiple the model needs; the probe checks that shifts by it
        are exact.
    global_context
        Known global context (from the registry): skip the measurement.
    max_size
        Largest probe input side; a receptive field reaching the border at this
        size is treated as unbounded.
    tolerance
        Relative tolerance (see the module docstring).
    seed
        Seed of the random probe inputs.

    Examples
    --------
    >>> probe_model(build_model("small_unet", num_classes=2, in_channels=1),
    ...             in_channels=1, output_stride=8).exact
    True
    """
    import torch

    start = time.perf_counter()
    s = int(output_stride)
    if global_context:
        return ProbeResult(
            None, False, s, tolerance, "global context (registry): blended inference"
        )
    model = copy.deepcopy(module).to("cpu", torch.float32).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    step = 2 * s  # sizes are multiples of 2s, so the centre block is stride-aligned
    largest = max(step, max_size // step * step)
    size = min(largest, -(-max(64, 4 * s) // step) * step)
    while True:
        yield Progress(size, largest, message=f"measuring the receptive field ({size} px)")
        with torch.no_grad():
            found = _probe_at(model, in_channels, s, size, tolerance, gen)
        if found is not None or size >= largest:
            break
        # grow by 1.5x, not 2x: the last (largest) step dominates the cost
        size = min(largest, -(-(size * 3 // 2) // step) * step)
    radii: tuple[tuple[float, int], ...] = ()
    if found is None:
        rf, exact = None, False
        reason = (
            f"output depends on pixels {size // 2 - 2 * s} px away (global context or a "
            f"receptive field larger than the {size} px probe): blended inference"
        )
    else:
        rf, exact, reason, radii = found
    return ProbeResult(
        receptive_field=rf if exact else None,
        exact=exact,
        output_stride=s,
        tolerance=tolerance,
        reason=reason,
        probe_size=size,
        seconds=time.perf_counter() - start,
        radii=radii,
    )


def _probe_at(
    model: nn.Module,
    in_channels: int,
    s: int,
    size: int,
    tolerance: float,
    gen: torch.Generator,
) -> tuple[int, bool, str, tuple[tuple[float, int], ...]] | None:
    """Probe at input side ``size``; None when the dependence reaches the border."""
    import torch

    c = size // 2
    block = (slice(None), slice(None), slice(c, c + s), slice(c, c + s))
    x = torch.randn(1, in_channels, size, size, dtype=torch.float32, generator=gen)
    x.requires_grad_(True)
    with torch.enable_grad():
        centre = model(x)[block]
        weights = torch.randn(centre.shape, dtype=torch.float32, generator=gen)
        (centre * weights).sum().backward()
    assert x.grad is not None
    grad = x.grad.abs().sum(dim=(0, 1))
    x = x.detach()
    ref = centre.detach()
    dist = _distance_map(size, c, c + s)
    limit = c - 2 * s  # the block's distance to the outer ring of width 2s
    if float(grad[dist >= limit].sum()) > tolerance * max(float(grad.sum()), 1e-30):
        return None
    radii = tuple((t, _radius_from_gradient(grad, dist, t)) for t in PROFILE_TOLERANCES)
    scale = max(float(ref.abs().max()), 1e-12)
    rf = _radius_from_gradient(grad, dist, tolerance)
    while True:  # gradients miss max-pool / ReLU switches: confirm by perturbation
        if rf >= limit:
            return None
        noise = torch.randn(x.shape, dtype=torch.float32, generator=gen)
        far = (dist > rf)[None, None]
        moved = float((model(torch.where(far, noise, x))[block] - ref).abs().max())
        if moved <= tolerance * scale:
            break
        rf += s
    # shift equivariance: crop s rows and 2s columns off the top-left
    shifted = model(x[:, :, s:, 2 * s :])[:, :, c - s : c, c - 2 * s : c - s]
    err = float((shifted - ref).abs().max())
    if err > tolerance * scale:
        reason = f"not shift-equivariant on {s}-px shifts (max change {err:.1e}): blended inference"
        return rf, False, reason, radii
    reason = f"receptive field {rf} px (measured at {size} px), equivariant on {s}-px shifts"
    return rf, True, reason, radii
