"""SAM 2's image encoder and prompt decoder as two traceable modules (the ``sam2`` layout).

The encoder does what ``SAM2ImagePredictor.set_image`` does: backbone, the
decoder's high-resolution projections, the "no memory" embedding added to the
coarsest map, maps returned as (1, C, H, W). The decoder embeds points (labels
-1 padding, 0 negative, 1 positive, 2 / 3 box corners), the previous mask and
returns every mask token's low-resolution logits with their predicted IoU.
"""

from __future__ import annotations

from typing import Any

import torch


class Sam2Encoder(torch.nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        backbone = m.forward_image(image)
        _, feats, _, sizes = m._prepare_backbone_features(backbone)
        if m.directly_add_no_mem_embed:
            feats[-1] = feats[-1] + m.no_mem_embed
        maps = [
            f.permute(1, 2, 0).reshape(1, -1, h, w) for f, (h, w) in zip(feats, sizes, strict=True)
        ]
        return maps[0], maps[1], maps[2]


class Sam2Decoder(torch.nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.prompt = model.sam_prompt_encoder
        self.decoder = model.sam_mask_decoder

    def forward(
        self,
        image_embed: torch.Tensor,
        high_res_feats_0: torch.Tensor,
        high_res_feats_1: torch.Tensor,
        point_coords: torch.Tensor,
        point_labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask_input: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        sparse = self.prompt._embed_points(point_coords, point_labels, pad=False)
        dense = has_mask_input * self.prompt.mask_downscaling(mask_input) + (
            1 - has_mask_input
        ) * self.prompt.no_mask_embed.weight.reshape(1, -1, 1, 1)
        masks, scores, _, _ = self.decoder.predict_masks(
            image_embeddings=image_embed,
            image_pe=self.prompt.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            repeat_image=False,
            high_res_features=[high_res_feats_0, high_res_feats_1],
        )
        return masks, scores
