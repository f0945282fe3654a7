"""SegNet upsamples with the encoder's max-pooling indices."""

from __future__ import annotations

import torch

from segcore.models import build_model
from segcore.models.segnet.blocks import EncoderStage, MaxUnpool


def test_decoder_puts_values_where_the_encoder_maxima_were() -> None:
    torch.manual_seed(0)
    model = build_model(
        "segnet", num_classes=2, in_channels=1, config={"channels": [4, 8], "convs": [1, 1]}
    ).eval()
    pooled: list[tuple[torch.Tensor, torch.Tensor]] = []
    unpooled: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for m in model.modules():
        if isinstance(m, EncoderStage):
            m.register_forward_hook(lambda _m, _i, out: pooled.append(out))
        if isinstance(m, MaxUnpool):
            m.register_forward_hook(lambda _m, inp, out: unpooled.append((inp[0], inp[1], out)))
    with torch.no_grad():
        model(torch.randn(1, 1, 16, 16))
    assert len(pooled) == 2 and len(unpooled) == 2
    # decoder stages run deepest first and get the matching encoder's indices
    for (_, enc_indices), (values, indices, out) in zip(pooled, reversed(unpooled), strict=True):
        assert torch.equal(indices, enc_indices)
        flat = out.flatten(2)
        # every value sits at its recorded argmax position, all other positions are zero
        assert torch.equal(flat.gather(2, indices.flatten(2)), values.flatten(2))
        mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(2, indices.flatten(2), True)
        assert not flat[~mask].any()
        assert out.shape[-1] == 2 * values.shape[-1]


def test_unpool_matches_torch_max_unpool2d() -> None:
    x = torch.randn(2, 3, 8, 8)
    pooled, indices = torch.nn.functional.max_pool2d(x, 2, 2, return_indices=True)
    expected = torch.nn.MaxUnpool2d(2, stride=2)(pooled, indices)
    assert torch.equal(MaxUnpool()(pooled, indices), expected)


def test_unpool_indices_change_the_output() -> None:
    """Moving a maximum inside its 2x2 window moves the decoder's output with it."""
    unpool = MaxUnpool()
    values = torch.ones(1, 1, 1, 1)
    a = unpool(values, torch.tensor([[[[0]]]]))
    b = unpool(values, torch.tensor([[[[3]]]]))
    assert a.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]
    assert b.flatten().tolist() == [0.0, 0.0, 0.0, 1.0]
