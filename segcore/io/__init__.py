"""Image sources: one protocol, many readers, chosen by file content.

>>> from segcore.io import open_image
>>> src = open_image("slide.svs")  # doctest: +SKIP
"""

from segcore.io.opener import open_image
from segcore.io.source import ImageSource, SourceMetadata

__all__ = ["ImageSource", "SourceMetadata", "open_image"]
