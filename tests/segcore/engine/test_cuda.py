"""CUDA paths: autocast, pinned host memory, non-blocking copies, reduction on the GPU."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from engine_helpers import build, whole_image_logits

from segcore.engine import InferOptions, infer
from segcore.engine.runners import TorchRunner
from segcore.io.array import ArraySource
from segcore.jobs import run_to_end
from segcore.synthetic import make_scene

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture
def no_tf32() -> Iterator[None]:
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def test_fp32_on_the_gpu_is_exact(no_tf32: None) -> None:
    model = build("small_unet")
    image = make_scene(203, 157, seed=5).image
    reference = whole_image_logits(model, image)  # on the CPU
    opts = InferOptions(device="cuda", precision="fp32", tile=96, batch=3, logits=True)
    result = run_to_end(infer(ArraySource(image), model, options=opts))
    assert result.backend == "torch-cuda-fp32"
    assert result.logits is not None
    assert np.abs(result.logits - reference).max() <= 1e-3


def test_autocast_agrees_with_fp32_on_nearly_every_pixel() -> None:
    model = build("unet")
    image = make_scene(256, 320, seed=1).image
    reference = whole_image_logits(model, image).argmax(0)
    opts = InferOptions(device="cuda", tile=192, batch=4, score="confidence")
    result = run_to_end(infer(ArraySource(image), model, options=opts))
    assert result.backend in ("torch-cuda-bf16", "torch-cuda-fp16")
    assert result.labels is not None and result.score is not None
    assert (result.labels == reference).mean() > 0.97
    assert result.score.dtype == np.uint8 and result.score.min() >= 255 // 4


def test_runner_reuses_a_pinned_buffer_and_returns_uint8_maps() -> None:
    model = build("small_unet")
    runner = TorchRunner(model.module, device="cuda", precision="bf16")
    batch = [np.random.default_rng(i).normal(size=(64, 64, 3)).astype(np.float32) for i in range(2)]
    first = runner.run(batch, logits=False, score="entropy")
    pinned = runner._pinned
    assert pinned is not None and pinned.is_pinned()
    second = runner.run(batch, logits=False, score="entropy")
    assert runner._pinned is pinned  # same shape, same buffer
    for a, b in zip(first, second, strict=True):
        assert a.labels.dtype == np.uint8 and a.labels.shape == (64, 64)
        assert a.score is not None and a.score.dtype == np.uint8
        np.testing.assert_array_equal(a.labels, b.labels)
    runner.close()
