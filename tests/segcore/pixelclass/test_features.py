"""The feature graph computes what scipy and scikit-image compute, band by band."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.feature import hessian_matrix_eigvals, structure_tensor_eigenvalues

from segcore.pixelclass.classifier import FeatureExtractor
from segcore.pixelclass.features import FeatureSpec, gaussian_kernel, radius

SPEC = FeatureSpec(sigmas=(0.7, 1.6, 3.5), fine=0.3)


def smooth_image(bands: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (ndi.gaussian_filter(rng.normal(size=(h, w, bands)), (1.2, 1.2, 0)) * 10).astype(
        np.float32
    )


def reference(band: np.ndarray, name: str, truncate: float) -> np.ndarray:
    """One named feature of one band with scipy / scikit-image, mode "nearest"."""
    kind, sigma, *rest = name.split()
    s = float(sigma)
    x = band.astype(np.float64)

    def gauss(order: tuple[int, int], sig: float = s, image: np.ndarray = x) -> np.ndarray:
        return ndi.gaussian_filter(image, sig, order=order, mode="nearest", truncate=truncate)

    which = 0 if rest == ["eig1"] else 1
    if kind == "gaussian":
        return gauss((0, 0))
    if kind == "log":
        return ndi.gaussian_laplace(x, s, mode="nearest", truncate=truncate)
    if kind == "gradient":
        return ndi.gaussian_gradient_magnitude(x, s, mode="nearest", truncate=truncate)
    if kind == "hessian":
        return hessian_matrix_eigvals([gauss((2, 0)), gauss((1, 1)), gauss((0, 2))])[which]
    assert kind == "structure"
    gy, gx = gauss((1, 0), s / 2), gauss((0, 1), s / 2)
    tensor = [gauss((0, 0), s, p) for p in (gy * gy, gy * gx, gx * gx)]
    return structure_tensor_eigenvalues(tensor)[which]


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 3.5])
def test_kernels_match_scipy(order: int, sigma: float) -> None:
    signal = np.random.default_rng(1).normal(size=60)
    r = radius(sigma)
    weights = gaussian_kernel(sigma, order)
    ours = np.array([weights @ signal[i - r : i + r + 1] for i in range(r, 60 - r)])
    want = ndi.gaussian_filter1d(signal, sigma, order=order, truncate=3.0)[r : 60 - r]
    np.testing.assert_allclose(ours, want, atol=1e-12)


def test_every_feature_matches_scipy_and_skimage() -> None:
    image = smooth_image(2, 45, 38)
    extractor = FeatureExtractor(SPEC, 2)
    features = extractor(image)
    names = SPEC.names(2)
    assert features.shape == (len(names), 45, 38) == (SPEC.count(2), 45, 38)
    for i, name in enumerate(names):
        band = int(name.split()[1]) - 1
        want = reference(image[..., band], " ".join(name.split()[2:]), SPEC.truncate)
        scale = max(float(np.abs(want).max()), 1e-6)
        assert np.abs(features[i] - want).max() <= 2e-5 * scale, name


def test_eigenvalues_are_sorted_and_the_feature_count_is_per_band() -> None:
    spec = FeatureSpec(sigmas=(1.0,), fine=None, kinds=("hessian", "structure"))
    assert spec.per_band == 4 and spec.count(3) == 12
    features = FeatureExtractor(spec, 1)(smooth_image(1, 30, 30))
    assert (features[0] >= features[1] - 1e-6).all()  # hessian: larger first
    assert (features[2] >= features[3] - 1e-6).all()  # structure tensor
    assert (features[3] >= -1e-4).all()  # a structure tensor is positive semi-definite


def test_the_halo_is_the_reach_of_the_widest_filter() -> None:
    spec = FeatureSpec()
    halo = spec.halo
    widest = max(spec.sigmas)  # the structure tensor there chains two filters
    assert halo == radius(widest / 2) + radius(widest) == 45
    side = 2 * (halo + 4) + 1
    c = side // 2
    image = smooth_image(1, side, side)
    extractor = FeatureExtractor(spec, 1)
    before = extractor(image)[:, c, c]
    far = image.copy()
    yy, xx = np.mgrid[:side, :side]
    outside = np.maximum(abs(yy - c), abs(xx - c)) > halo
    far[outside] = 1000.0
    np.testing.assert_array_equal(extractor(far)[:, c, c], before)
    near = image.copy()
    near[c, c + halo] = 1000.0  # just inside the reach
    assert not np.array_equal(extractor(near)[:, c, c], before)


def test_non_finite_input_is_filled_with_zero_before_filtering() -> None:
    image = smooth_image(2, 30, 33)
    holes = image.copy()
    holes[5:9, 10:20, 0] = np.nan
    holes[20, 3, 1] = np.inf
    filled = holes.copy()
    filled[~np.isfinite(filled)] = 0.0
    extractor = FeatureExtractor(SPEC, 2)
    got, want = extractor(holes), extractor(filled)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got, want)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        FeatureSpec(sigmas=(0.0,))
    with pytest.raises(ValueError, match="kinds"):
        FeatureSpec(kinds=("sobel",))  # type: ignore[arg-type]
    assert FeatureSpec.from_json(SPEC.to_json()) == SPEC
