"""Pretrained weights through the standard torch hub cache, with a clear offline message.

torchvision weights go where torchvision puts them,
``torch.hub.get_dir()/checkpoints/<file name of the URL>``. smp 0.6 fetches encoder
weights from the Hugging Face hub; Tessera first looks for them in the same torch
hub folder (``<repo id with / replaced by -->.safetensors``), so one folder holds
every file an offline machine needs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from segcore.errors import ModelError

if TYPE_CHECKING:
    import torch


def checkpoint_dir() -> Path:
    """The torch hub checkpoint folder (``$TORCH_HOME/hub/checkpoints``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def fetch_torchvision(url: str, what: str) -> Path:
    """Make sure the torchvision weight file at ``url`` is in the hub cache.

    Raises ModelError naming the file to place where when the download fails.
    """
    import torch.hub

    name = os.path.basename(urlparse(url).path)
    target = checkpoint_dir() / name
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(target), progress=False)
    except Exception as exc:  # network errors come as URLError, OSError, HTTPError, ...
        raise ModelError(
            f"could not download the pretrained weights for {what} ({exc}); "
            f"on an offline machine download {url} elsewhere and place it as {target}, "
            "or build the model without pretrained weights"
        ) from exc
    return target


def smp_encoder_state(encoder: str, weights: str = "imagenet") -> dict[str, torch.Tensor]:
    """The state dict of smp encoder ``encoder`` pretrained on ``weights``."""
    from safetensors.torch import load_file
    from segmentation_models_pytorch.encoders import encoders

    try:
        settings = encoders[encoder]["pretrained_settings"][weights]
    except KeyError as exc:
        raise ModelError(f"smp encoder {encoder!r} has no {weights!r} weights") from exc
    repo_id, revision = str(settings["repo_id"]), settings.get("revision")
    local = checkpoint_dir() / f"{repo_id.replace('/', '--')}.safetensors"
    if not local.is_file():
        try:
            from huggingface_hub import hf_hub_download

            local = Path(hf_hub_download(repo_id, filename="model.safetensors", revision=revision))
        except Exception as exc:  # offline: LocalEntryNotFoundError, OSError, HTTP errors
            url = f"https://huggingface.co/{repo_id}/resolve/{revision or 'main'}/model.safetensors"
            raise ModelError(
                f"could not download the pretrained {encoder} encoder weights ({exc}); "
                f"on an offline machine download {url} elsewhere and place it as {local}, "
                "or build the model without pretrained weights"
            ) from exc
    try:
        return load_file(str(local), device="cpu")
    except Exception as exc:
        raise ModelError(
            f"{local}: pretrained encoder weights are unreadable ({exc}); delete the file "
            "and try again"
        ) from exc
