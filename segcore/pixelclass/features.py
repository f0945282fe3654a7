"""Which filter features the pixel classifier computes, and their kernels (numpy only).

Every band is filtered on its own at each scale ``sigma`` (in pixels), the way
ilastik and QuPath do it:

* ``gaussian``: Gaussian smoothing;
* ``log``: Laplacian of Gaussian (sum of the two second derivatives);
* ``gradient``: gradient magnitude of Gaussian derivatives;
* ``structure``: the two eigenvalues (largest first) of the structure tensor,
  derivatives at ``sigma / 2`` smoothed at ``sigma`` (ilastik's inner and outer scales);
* ``hessian``: the two eigenvalues (largest first) of the Hessian of Gaussian.

Kernels are sampled Gaussians (and their derivatives), cut at
``truncate * sigma + 0.5`` pixels, as ``scipy.ndimage.gaussian_filter`` with
``mode="nearest"`` computes them: the tests compare against scipy and
scikit-image. The filters are built into an ONNX graph by
:mod:`segcore.pixelclass.graph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["gaussian", "log", "gradient", "structure", "hessian"]
KINDS: tuple[Kind, ...] = ("gaussian", "log", "gradient", "structure", "hessian")
WIDTH: dict[Kind, int] = {"gaussian": 1, "log": 1, "gradient": 1, "structure": 2, "hessian": 2}

# Chosen by measurement (docs/bench/training.md): smoothing alone at the finest
# scale, every feature at the others.
DEFAULT_SIGMAS = (1.0, 3.5, 10.0)
DEFAULT_FINE = 0.3  # only Gaussian smoothing there: derivatives at 0.3 px are noise
TRUNCATE = 3.0  # kernel radius in sigmas, as vigra (ilastik) cuts its kernels


@dataclass(frozen=True)
class FeatureSpec:
    """The filter bank: ``fine`` (smoothing only, None: none) and ``sigmas`` (all kinds)."""

    sigmas: tuple[float, ...] = DEFAULT_SIGMAS
    fine: float | None = DEFAULT_FINE
    kinds: tuple[Kind, ...] = KINDS
    truncate: float = TRUNCATE

    def __post_init__(self) -> None:
        if not self.sigmas and self.fine is None:
            raise ValueError("a feature set needs at least one scale")
        if any(s <= 0 for s in (*self.sigmas, self.fine or 1.0)):
            raise ValueError(f"scales must be positive, got {self.sigmas} and {self.fine}")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"feature kinds must be among {', '.join(KINDS)}, got {self.kinds}")

    @property
    def per_band(self) -> int:
        """Features computed for each band."""
        return (self.fine is not None) + len(self.sigmas) * sum(WIDTH[k] for k in self.kinds)

    def count(self, bands: int) -> int:
        return bands * self.per_band

    def names(self, bands: int) -> list[str]:
        """One name per feature, band-major, in the order the graph outputs them."""
        own: list[str] = []
        if self.fine is not None:
            own.append(f"gaussian {self.fine:g}")
        for sigma in self.sigmas:
            for kind in self.kinds:
                if WIDTH[kind] == 1:
                    own.append(f"{kind} {sigma:g}")
                else:
                    own += [f"{kind} {sigma:g} eig1", f"{kind} {sigma:g} eig2"]
        return [f"band {b + 1} {name}" for b in range(bands) for name in own]

    @property
    def halo(self) -> int:
        """Radius in pixels beyond which no input pixel changes any feature.

        The structure tensor chains two filters (derivatives at ``sigma / 2``,
        then smoothing at ``sigma``), so its reach is the sum of both radii.
        """
        reach = [radius(self.fine, self.truncate)] if self.fine is not None else []
        for sigma in self.sigmas:
            reach.append(radius(sigma, self.truncate))
            if "structure" in self.kinds:
                reach.append(radius(sigma / 2, self.truncate) + radius(sigma, self.truncate))
        return max(reach)

    def to_json(self) -> dict[str, Any]:
        return {
            "sigmas": list(self.sigmas),
            "fine": self.fine,
            "kinds": list(self.kinds),
            "truncate": self.truncate,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> FeatureSpec:
        fine = data.get("fine", DEFAULT_FINE)
        return FeatureSpec(
            sigmas=tuple(float(s) for s in data.get("sigmas", DEFAULT_SIGMAS)),
            fine=None if fine is None else float(fine),
            kinds=tuple(data.get("kinds", KINDS)),
            truncate=float(data.get("truncate", TRUNCATE)),
        )


def radius(sigma: float, truncate: float = TRUNCATE) -> int:
    """Kernel radius in pixels for ``sigma`` (as scipy's gaussian_filter1d)."""
    return int(truncate * float(sigma) + 0.5)


def gaussian_kernel(sigma: float, order: int, truncate: float = TRUNCATE) -> np.ndarray:
    """The 1-D kernel of derivative ``order`` (0, 1 or 2) of a sampled Gaussian.

    Returned as *correlation* weights, index 0 at offset ``-radius``: applied as
    ``out[i] = sum_k w[k] * x[i - radius + k]`` it convolves with the derivative
    of the Gaussian (so order 1 of a rising ramp is positive).

    >>> np.round(gaussian_kernel(1.0, 1, truncate=1.0), 3).tolist()
    [-0.274, 0.0, 0.274]
    """
    if order not in (0, 1, 2):
        raise ValueError(f"derivative order must be 0, 1 or 2, got {order}")
    r = radius(sigma, truncate)
    x = np.arange(-r, r + 1, dtype=np.float64)
    var = float(sigma) ** 2
    phi = np.exp(-0.5 * x * x / var)
    phi /= phi.sum()
    if order == 1:
        phi = -x / var * phi
    elif order == 2:
        phi = (x * x / var - 1.0) / var * phi
    # convolution flips the kernel; correlation weights are its mirror image
    return np.asarray(phi[::-1], np.float64)
