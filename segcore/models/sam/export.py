"""One-off export of a downloaded checkpoint to an ONNX encoder + decoder pair.

The checkpoint is read with ``torch.load(weights_only=True)`` (a plain state
dict: nothing is unpickled), the real architecture is built from the
``segment-anything`` or ``sam2`` package, and both graphs are written with
the names of the ``sam`` / ``sam2`` layouts (:mod:`.layout`), each under a
temporary name and renamed when complete. :func:`export_job` runs the export
in a child process (PyTorch stays out of the caller), yielding progress;
closing it stops the child::

    python -m segcore.models.sam.export VARIANT CHECKPOINT OUT_DIR   # the child

Tests build the same architectures at random init, smaller
(:class:`ArchSize`), and export them through :func:`export_module`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segcore.errors import ModelError
from segcore.jobs import Job, Progress
from segcore.models.child import die_with_parent, run_child
from segcore.models.sam.pair import DECODER, ENCODER
from segcore.models.sam.variants import get_variant

OPSET = 17


@dataclass(frozen=True)
class ArchSize:
    """Depth and width of an architecture; None keeps the published value."""

    image_size: int = 1024
    depth: int | None = None
    embed_dim: int | None = None
    heads: int | None = None


_SAM = {  # embed dim, depth, heads, global attention blocks
    "vit_b": (768, 12, 12, (2, 5, 8, 11)),
    "vit_l": (1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": (1280, 32, 16, (7, 15, 23, 31)),
}
_SAM2 = {
    "sam2_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def build(variant: str, size: ArchSize = ArchSize()) -> Any:
    """The real architecture of ``variant`` at random init (a torch module)."""
    spec = get_variant(variant)
    if variant in _SAM:
        return _build_sam(variant, size)
    if variant == "mobile_sam" and _tiny_vit() is not None:
        return _build_sam(variant, size)
    if variant in _SAM2:
        return _build_sam2(variant, size)
    raise ModelError(
        f"variant {variant!r} cannot be exported here (its package is not on PyPI); export "
        f"{spec.checkpoint} with samexporter and register it with `tessera models add-sam`"
    )


def _build_sam(variant: str, size: ArchSize) -> Any:
    from segment_anything.modeling import (
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    s, e = size.image_size, size.image_size // 16
    spec = get_variant(variant)
    encoder = _tiny_vit_encoder(s) if variant == "mobile_sam" else _vit_encoder(variant, size)
    return Sam(
        image_encoder=encoder,
        prompt_encoder=PromptEncoder(
            embed_dim=256, image_embedding_size=(e, e), input_image_size=(s, s), mask_in_chans=16
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
            transformer_dim=256,
            iou_head_depth=3,
            iou_head_hidden_dim=256,
        ),  # fmt: skip
        pixel_mean=list(spec.mean),
        pixel_std=list(spec.std),
    ).eval()


def _tiny_vit() -> Any:
    """MobileSAM's TinyViT class, from the MobileSAM code where it is installed (its
    package, or the copy inside samexporter); None if neither is (neither is on PyPI
    in a form that installs beside torch >= 2.14)."""
    import importlib

    for module in ("mobile_sam.modeling.tiny_vit_sam", "samexporter.mobile_encoder.tiny_vit_sam"):
        try:
            return importlib.import_module(module).TinyViT
        except Exception:  # not installed, or it failed to import: try the next
            continue
    return None


def _tiny_vit_encoder(s: int) -> Any:
    """MobileSAM's image encoder (TinyViT-5M) with its published configuration."""
    return _tiny_vit()(
        img_size=s, in_chans=3, num_classes=1000, embed_dims=[64, 128, 160, 320],
        depths=[2, 2, 6, 2], num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7], mlp_ratio=4.0,
        drop_rate=0.0, drop_path_rate=0.0, use_checkpoint=False, mbconv_expand_ratio=4.0,
        local_conv_size=3, layer_lr_decay=0.8,
    )  # fmt: skip


def _vit_encoder(variant: str, size: ArchSize) -> Any:
    from functools import partial

    import torch
    from segment_anything.modeling import ImageEncoderViT

    dim, depth, heads, blocks = _SAM[variant]
    dim, heads = size.embed_dim or dim, size.heads or heads
    glob: tuple[int, ...] = blocks
    if size.depth is not None:
        depth, glob = size.depth, (size.depth - 1,)
    return ImageEncoderViT(
        depth=depth, embed_dim=dim, img_size=size.image_size, mlp_ratio=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=heads, patch_size=16,
        qkv_bias=True, use_rel_pos=True, global_attn_indexes=glob, window_size=14, out_chans=256,
    )  # fmt: skip


def _build_sam2(variant: str, size: ArchSize) -> Any:
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    overrides = [f"++model.image_size={size.image_size}"]
    if size.depth is not None:
        n = max(size.depth, 2)  # stage 3 keeps a windowed block before its global one
        overrides += [f"++model.image_encoder.trunk.stages=[1,1,{n},1]",
                      f"++model.image_encoder.trunk.global_att_blocks=[{n + 1}]"]  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_module("sam2", version_base="1.2"):
        cfg = compose(config_name=_SAM2[variant], overrides=overrides)
    GlobalHydra.instance().clear()
    OmegaConf.resolve(cfg)
    return instantiate(cfg.model, _recursive_=True).eval()


def load_checkpoint(module: Any, checkpoint: Path) -> None:
    """Assign a plain state dict (``weights_only``: nothing is unpickled)."""
    import torch

    try:
        state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(
            f"{checkpoint}: not a plain state dict ({str(exc).splitlines()[0][:160]}); "
            "Tessera loads checkpoints with weights_only=True only"
        ) from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # SAM 2 checkpoints keep the weights under "model"
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"{checkpoint}: weights do not fit this variant ({str(exc).splitlines()[0][:160]}); "
            "pick the --variant the checkpoint was published for"
        ) from exc


def _wrappers(variant: str, module: Any) -> tuple[Any, Any, dict[str, Any], list[str], list[str]]:
    """(encoder, decoder, decoder example inputs, encoder outputs, decoder outputs)."""
    import torch

    if variant in _SAM or variant == "mobile_sam":
        from segment_anything.utils.onnx import SamOnnxModel

        class SamEncoder(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = module.image_encoder

            def forward(self, x: torch.Tensor) -> Any:
                return self.encoder(x)

        s = module.image_encoder.img_size
        e = s // 16
        example = {
            "image_embeddings": torch.randn(1, 256, e, e),
            "point_coords": torch.randint(0, s, (1, 3, 2)).float(),
            "point_labels": torch.tensor([[1.0, 0.0, -1.0]]),
            "mask_input": torch.randn(1, 1, 4 * e, 4 * e),
            "has_mask_input": torch.tensor([1.0]),
            "orig_im_size": torch.tensor([float(s), float(s)]),
        }

        class LowResDecoder(SamOnnxModel):  # type: ignore[misc]
            """SAM's ONNX decoder without the two 1024-px upsamplings of every candidate:
            ``masks`` are the (4E x 4E) logits, resized by the caller to the window only."""

            def mask_postprocessing(self, masks: torch.Tensor, orig_im_size: torch.Tensor) -> Any:
                return masks + 0.0 * orig_im_size.sum()  # keeps the input in the graph

        decoder = LowResDecoder(module, return_single_mask=False)
        return SamEncoder(), decoder, example, ["image_embeddings"], [
            "masks", "iou_predictions", "low_res_masks"]  # fmt: skip
    from segcore.models.sam.sam2_graphs import Sam2Decoder, Sam2Encoder

    enc, dec = Sam2Encoder(module), Sam2Decoder(module)
    with torch.no_grad():
        f0, f1, emb = enc(torch.randn(1, 3, module.image_size, module.image_size))
    e = emb.shape[-1]
    example = {
        "image_embed": emb, "high_res_feats_0": f0, "high_res_feats_1": f1,
        "point_coords": torch.randint(0, module.image_size, (1, 3, 2)).float(),
        "point_labels": torch.tensor([[1.0, 0.0, -1.0]]),
        "mask_input": torch.randn(1, 1, 4 * e, 4 * e), "has_mask_input": torch.tensor([1.0]),
    }  # fmt: skip
    return enc, dec, example, ["high_res_feats_0", "high_res_feats_1", "image_embed"], [
        "masks", "iou_predictions"]  # fmt: skip


def export_module(variant: str, module: Any, out_dir: Path) -> tuple[Path, Path]:
    """Write ``encoder.onnx`` and ``decoder.onnx`` of ``module`` into ``out_dir``."""
    import warnings

    import torch

    encoder, decoder, example, enc_out, dec_out = _wrappers(variant, module)
    sam1 = variant in _SAM or variant == "mobile_sam"
    s = module.image_encoder.img_size if sam1 else module.image_size
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / ENCODER, out_dir / DECODER
    tmp = [p.with_name(f".{p.name}.{os.getpid()}.tmp") for p in paths]
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                encoder, (torch.randn(1, 3, s, s),), str(tmp[0]), dynamo=False,
                opset_version=OPSET, input_names=["input_image" if sam1 else "image"],
                output_names=enc_out,
            )  # fmt: skip
            torch.onnx.export(
                decoder, tuple(example.values()), str(tmp[1]), dynamo=False,
                opset_version=OPSET, input_names=list(example), output_names=dec_out,
                dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}},
            )  # fmt: skip
        for t, p in zip(tmp, paths, strict=True):
            os.replace(t, p)
    finally:
        for t in tmp:
            t.unlink(missing_ok=True)
    return paths


def export_checkpoint(
    variant: str, checkpoint: Path, out_dir: Path, size: ArchSize = ArchSize()
) -> tuple[Path, Path]:
    """Build ``variant``, load ``checkpoint`` into it and export the pair (in this process).

    ``size`` other than the published one is for checkpoints of reduced test models.
    """
    if not checkpoint.is_file():
        raise ModelError(f"{checkpoint}: no such checkpoint file; download it first")
    module = build(variant, size)
    load_checkpoint(module, checkpoint)
    return export_module(variant, module, out_dir)


def export_job(
    variant: str, checkpoint: Path, out_dir: Path, size: ArchSize = ArchSize()
) -> Job[tuple[Path, Path]]:
    """:func:`export_checkpoint` in a child process, progress twice a second (a job)."""
    spec = get_variant(variant)  # a bad name fails here, in one line
    if not checkpoint.is_file():
        raise ModelError(f"{checkpoint}: no such checkpoint file; download it first")
    step = Progress(0, 0, message=f"exporting {spec.name} to ONNX (once)")
    yield step
    dims = [str(v) for v in (size.image_size, size.depth, size.embed_dim, size.heads)]

    def drop_partial() -> None:
        for partial in out_dir.glob(".*.tmp"):
            partial.unlink(missing_ok=True)

    code, out, err = yield from run_child(
        "segcore.models.sam.export", [variant, str(checkpoint), str(out_dir), *dims], step,
        on_cancel=drop_partial,
    )  # fmt: skip
    if code != 0:
        tail = (err or out).strip().splitlines()[-1:] or ["no message"]
        raise ModelError(tail[0])
    return out_dir / ENCODER, out_dir / DECODER


def main(argv: list[str]) -> int:
    if len(argv) > 7:  # started by run_child: end with the parent
        die_with_parent(int(argv[7]))
    dims = [None if v == "None" else int(v) for v in argv[3:7]] or [1024, None, None, None]
    size = ArchSize(dims[0] or 1024, dims[1], dims[2], dims[3])
    try:
        export_checkpoint(argv[0], Path(argv[1]), Path(argv[2]), size)
    except ModelError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
