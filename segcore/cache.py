"""The user's cache directory: lazy pyramids, ONNX copies of models.

``$TESSERA_CACHE_DIR`` wins when set (tests, shared machines, a bigger
disk); otherwise the platform's cache folder (platformdirs), e.g.
``~/.cache/tessera`` on Linux. Everything here can be deleted at any time.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """Folder for one kind of cached thing (not created here)."""
    env = os.environ.get("TESSERA_CACHE_DIR")
    if env:
        return Path(env) / kind
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tessera")) / kind
