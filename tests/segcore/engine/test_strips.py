"""ONNX models split so their high-resolution end runs in row strips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import Loaded, build, make_meta, whole_image_logits
from torch import nn

from segcore.engine import InferOptions, backend, infer, runners, tiling
from segcore.engine.runners import OnnxRunner
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.models.onnx_split import split_model
from segcore.models.portable import onnx_bytes
from segcore.synthetic import make_scene


def _tiles(seed: int, n: int = 2, h: int = 192, w: int = 160) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((h, w, 3)).astype(np.float32) for _ in range(n)]


@pytest.fixture(scope="module")
def unet_onnx() -> bytes:
    model = build("unet")  # smp U-Net, resnet18 encoder, depth 3
    return onnx_bytes(model.module, model.meta)


def test_an_smp_unet_splits_at_quarter_resolution(unet_onnx: bytes) -> None:
    whole = OnnxRunner(unet_onnx)
    split = split_model(unet_onnx, whole._open)
    assert split is not None
    factors = dict(split.cuts)
    assert factors.pop(split.input) == 1  # the tail recomputes the encoder's first layer
    assert list(factors.values()) == [4]  # and starts from a quarter-resolution tensor
    assert split.align == 4 and split.margin % 4 == 0 and 4 <= split.margin <= 32


def test_strips_give_the_whole_model_s_logits(
    unet_onnx: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runners, "STRIP_PIXELS", 2 * 40 * 160)  # 40-row strips: 5 per tile
    whole = OnnxRunner(unet_onnx)
    strips = OnnxRunner(unet_onnx, strips=True)
    assert strips.in_strips and strips.name.endswith("-strips") and not whole.in_strips
    batch = _tiles(0)
    a = whole.run(batch, logits=True, score="entropy")
    b = strips.run(batch, logits=True, score="entropy")
    for x, y in zip(a, b, strict=True):
        assert x.logits is not None and y.logits is not None
        assert np.abs(x.logits - y.logits).max() <= 1e-4 * np.abs(x.logits).max()
        assert (x.labels == y.labels).all()
        assert x.score is not None and y.score is not None
        assert np.abs(x.score.astype(int) - y.score.astype(int)).max() <= 1


def test_segnet_is_not_split_and_runs_whole() -> None:
    model = build("segnet")  # its decoder unpools with the encoder's indices: not local
    data = onnx_bytes(model.module, model.meta)
    runner = OnnxRunner(data, strips=True)
    assert not runner.in_strips
    (out,) = runner.run(_tiles(1, n=1, h=64, w=64), logits=False, score="none")
    assert out.labels.shape == (64, 64)


class FullResAttention(nn.Module):
    """Downsample, upsample, then scale by a mean over the whole image: global context."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = nn.functional.max_pool2d(torch.relu(self.a(x)), 4)
        up = nn.functional.interpolate(self.b(low), scale_factor=4, mode="nearest")
        return up * up.mean(dim=(2, 3), keepdim=True)


def test_a_tail_with_global_context_is_refused() -> None:
    torch.manual_seed(0)
    meta = make_meta("attention", classes=3, in_channels=3, stride=4, rf=None)
    data = onnx_bytes(FullResAttention().eval(), meta)
    assert split_model(data, OnnxRunner(data)._open) is None


def test_a_big_cpu_job_takes_larger_tiles_in_strips_and_stays_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model: Loaded = build("unet")  # receptive field 65, stride 8
    monkeypatch.setattr(backend, "ONNX_MIN_PIXELS", 0)  # every job counts as big
    monkeypatch.setattr(tiling, "MAX_DEFAULT_TILE", 192)
    monkeypatch.setattr(tiling, "MAX_STRIP_TILE", 320)
    image = make_scene(420, 500, seed=4).image
    opts = InferOptions(device="cpu", logits=True)
    result = run_to_end(infer(ArraySource(image), model, options=opts))
    assert result.backend == "onnx-CPU-strips"
    assert 192 < result.tile <= 320
    assert result.logits is not None
    assert np.abs(result.logits - whole_image_logits(model, image)).max() <= 1e-3
    torch_opts = InferOptions(device="cpu", backend="torch")
    assert run_to_end(infer(ArraySource(image), model, options=torch_opts)).tile == 192
