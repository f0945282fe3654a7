"""Promptable pairs: layouts read from the graphs, the pair check, registration, the runtime,
and the one-off export from a checkpoint (tiny real architectures at random init)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sam_helpers import TINY, tiny_pair

from segcore.cli import main
from segcore.errors import ModelError
from segcore.jobs import run_to_end
from segcore.models.sam.export import build, export_job, load_checkpoint
from segcore.models.sam.pair import describe
from segcore.models.sam.runtime import CPU, CUDA, Prompt, PromptModel
from segcore.models.sam.store import add_pair, get_pair, list_pairs


def test_sam_pair_is_described_from_its_graphs() -> None:
    meta = describe("vit_b", *tiny_pair("vit_b"))
    assert (meta.layout, meta.input_size) == ("sam", 256)
    assert meta.embeddings == {"image_embeddings": (1, 256, 16, 16)}
    assert meta.scale == 1.0 and meta.mean[0] == pytest.approx(123.675)


def test_sam2_pair_is_described_from_its_graphs() -> None:
    meta = describe("sam2_hiera_t", *tiny_pair("sam2_hiera_t"))
    assert meta.layout == "sam2"
    assert meta.embeddings == {
        "high_res_feats_0": (1, 32, 64, 64),
        "high_res_feats_1": (1, 64, 32, 32),
        "image_embed": (1, 256, 16, 16),
    }


def test_decoder_of_another_encoder_size_is_refused() -> None:
    encoder, _ = tiny_pair("vit_b")
    _, other_decoder = tiny_pair("vit_b", image_size=128)  # 8 x 8 embeddings
    with pytest.raises(ModelError, match="does not match the encoder") as err:
        describe("vit_b", encoder, other_decoder)
    assert "\n" not in str(err.value)


def test_unknown_layout_and_wrong_variant_are_refused(tmp_path: Path) -> None:
    sam_encoder, sam_decoder = tiny_pair("vit_b")
    _, sam2_decoder = tiny_pair("sam2_hiera_t")
    with pytest.raises(ModelError, match="unknown model pair layout"):
        describe("vit_b", sam_encoder, sam2_decoder)
    with pytest.raises(ModelError, match="pick the matching --variant"):
        describe("sam2_hiera_t", sam_encoder, sam_decoder)
    with pytest.raises(ModelError, match="unknown promptable variant 'vit_q'"):
        describe("vit_q", sam_encoder, sam_decoder)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="not a readable ONNX file"):
        describe("vit_b", junk, sam_decoder)


@pytest.mark.parametrize("variant", sorted(TINY))
def test_runtime_decodes_every_candidate(variant: str) -> None:
    encoder, decoder = tiny_pair(variant)
    from segcore.models.sam.pair import Pair

    pair = Pair(variant, encoder.parent, describe(variant, encoder, decoder))
    model = PromptModel(pair)
    embedding = model.encode(np.full((200, 256, 3), 128, np.float32))  # padded to 256 x 256
    assert {k: v.shape for k, v in embedding.items()} == pair.meta.embeddings
    out = model.decode(embedding, Prompt(np.array([[40.0, 50.0]]), np.array([1])))
    assert out.logits.shape == (4, 64, 64) and out.scores.shape == (4,)
    assert out.low_res is not None and out.low_res.shape == (4, 64, 64)
    again = model.decode(
        embedding, Prompt(np.array([[40.0, 50.0]]), np.array([1]), box=(10, 10, 90, 90),
                          mask=out.low_res[0])
    )  # fmt: skip
    assert not np.allclose(again.logits, out.logits)  # the box and the mask prompt count


def test_cuda_requested_without_it_runs_on_cpu_and_says_so() -> None:
    encoder, decoder = tiny_pair("vit_b")
    from segcore.models.sam.pair import Pair

    pair = Pair("p", encoder.parent, describe("vit_b", encoder, decoder))
    model = PromptModel(pair, providers=[CUDA, CPU])
    import onnxruntime as ort

    if CUDA in ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    assert model.device == "cpu" and "CPU" in model.device_note


def test_add_sam_registers_a_copy_and_refuses_bad_pairs(
    models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    encoder, decoder = tiny_pair("vit_b")
    argv = ["models", "add-sam", "--variant", "mobile_sam", "--encoder", str(encoder)]
    assert main([*argv, "--decoder", str(decoder)]) == 0
    assert "mobile_sam: mobile_sam (sam layout), input 256 px" in capsys.readouterr().out
    pair = get_pair()  # the default: the last added
    assert pair.name == "mobile_sam" and pair.encoder.read_bytes() == encoder.read_bytes()
    assert main([*argv, "--decoder", str(decoder)]) == 2  # exists: needs --replace
    assert "--replace" in capsys.readouterr().err
    _, sam2_decoder = tiny_pair("sam2_hiera_t")
    assert main([*argv, "--decoder", str(sam2_decoder), "--name", "bad"]) == 2
    err = capsys.readouterr().err
    assert "unknown model pair layout" in err and err.count("\n") == 1
    assert [p.name for p in list_pairs()] == ["mobile_sam"]  # nothing half-registered
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".") and p.is_dir()]


def test_export_from_checkpoint_in_a_child_loads_weights_only(tmp_path: Path) -> None:
    import torch

    size = TINY["vit_b"]
    module = build("vit_b", size)
    ckpt = tmp_path / "sam_tiny.pth"
    torch.save(module.state_dict(), ckpt)
    encoder, decoder = run_to_end(export_job("vit_b", ckpt, tmp_path / "out", size))
    meta = describe("vit_b", encoder, decoder)
    assert meta.embeddings == {"image_embeddings": (1, 256, 16, 16)}
    from segcore.models.sam.pair import Pair

    model = PromptModel(Pair("ckpt", encoder.parent, meta))
    pixels = np.random.default_rng(0).uniform(0, 255, (256, 256, 3)).astype(np.float32)
    got = model.encode(pixels)["image_embeddings"]
    with torch.no_grad():  # the checkpoint's weights, run by PyTorch in this process
        x = torch.from_numpy(model.normalise(pixels))
        want = module.image_encoder(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)

    import argparse

    bad = tmp_path / "pickled.pth"
    torch.save({"model": argparse.Namespace(payload=1)}, bad)  # an object: refused unread
    with pytest.raises(ModelError, match="weights_only=True"):
        load_checkpoint(module, bad)


def test_add_pair_keeps_given_files_untouched(models_dir: Path, tmp_path: Path) -> None:
    encoder, decoder = tiny_pair("vit_b")
    mine = tmp_path / "mine"
    shutil.copytree(encoder.parent, mine)
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    add_pair("mine", "vit_b", mine / "encoder.onnx", mine / "decoder.onnx")
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before


def test_sam_list_and_sam_embed_from_the_cli(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tifffile

    assert main(["models", "sam-list"]) == 0
    assert "no promptable pairs" in capsys.readouterr().out
    image = tmp_path / "scene.tif"
    tifffile.imwrite(image, np.random.default_rng(0).integers(0, 255, (300, 400, 3), np.uint8))
    assert main(["models", "sam-embed", str(image), "--level", "0"]) == 2
    assert "no promptable model registered" in capsys.readouterr().err
    encoder, decoder = tiny_pair("vit_b")
    add_pair("tiny", "vit_b", encoder, decoder)
    assert main(["models", "sam-list"]) == 0
    assert capsys.readouterr().out.startswith("tiny: vit_b (sam layout)")
    # 400 x 300 at level 0 with a 256 input: x 0, 128, 144; y 0, 44 -> 6 windows
    assert main(["models", "sam-embed", str(image), "--level", "0"]) == 0
    assert "level 0, 6 windows encoded" in capsys.readouterr().out
    assert main(["models", "sam-embed", str(image), "--view", "256"]) == 0  # level 0 again
    assert "level 0, 0 windows encoded" in capsys.readouterr().out
    assert main(["models", "sam-embed", str(image), "--level", "9"]) == 2
    assert "has levels 0.." in capsys.readouterr().err


def test_official_sam_decoder_export_runs_at_low_resolution(tmp_path: Path) -> None:
    """segment_anything's own SamOnnxModel (what samexporter writes): full-size masks
    and low_res_masks; fed a square 4E "original size" it answers at 4E px."""
    import warnings

    import torch
    from segment_anything.utils.onnx import SamOnnxModel

    from segcore.models.sam.pair import Pair

    module = build("vit_b", TINY["vit_b"])
    example = {
        "image_embeddings": torch.randn(1, 256, 16, 16),
        "point_coords": torch.tensor([[[10.0, 20.0], [0.0, 0.0]]]),
        "point_labels": torch.tensor([[1.0, -1.0]]),
        "mask_input": torch.zeros(1, 1, 64, 64),
        "has_mask_input": torch.tensor([0.0]),
        "orig_im_size": torch.tensor([300.0, 400.0]),
    }
    folder = tmp_path / "official"
    folder.mkdir()
    shutil.copyfile(tiny_pair("vit_b")[0], folder / "encoder.onnx")
    decoder = folder / "decoder.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SamOnnxModel(module, return_single_mask=False), tuple(example.values()),
            str(decoder), dynamo=False, opset_version=17, input_names=list(example),
            output_names=["masks", "iou_predictions", "low_res_masks"],
            dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}},
        )  # fmt: skip
    encoder = folder / "encoder.onnx"
    model = PromptModel(Pair("official", folder, describe("vit_b", encoder, decoder)))
    assert [o.name for o in model._decoder.get_outputs()][2] == "low_res_masks"
    embedding = model.encode(np.zeros((256, 256, 3), np.float32))
    out = model.decode(embedding, Prompt(np.array([[10.0, 20.0]]), np.array([1])))
    assert out.logits.shape == (4, 64, 64) and out.low_res is not None


def test_gpu_out_of_memory_falls_back_to_cpu_and_says_so() -> None:
    from segcore.models.sam.pair import Pair

    encoder, decoder = tiny_pair("vit_b")
    model = PromptModel(Pair("p", encoder.parent, describe("vit_b", encoder, decoder)))

    class FullGpu:  # what onnxruntime's CUDA session does when the encoder does not fit
        def get_providers(self) -> list[str]:
            return [CUDA, CPU]

        def run(self, *args: object) -> None:
            raise RuntimeError("BFCArena: Failed to allocate memory for requested buffer")

    model._encoder = FullGpu()
    embedding = model.encode(np.zeros((256, 256, 3), np.float32))
    assert embedding["image_embeddings"].shape == (1, 256, 16, 16)
    assert model.device == "cpu" and "out of memory" in model.device_note
