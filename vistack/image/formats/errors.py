"""The two ways checking or converting an image can fail.

The split exists because the API must answer differently: an `InvalidImage` is the uploader's
problem (HTTP 400, message shown verbatim), a `ConversionError` is ours (HTTP 500, message
logged).
"""

from __future__ import annotations


class InvalidImage(Exception):
    """The image's bytes are not what its disk/container format promises, or are unsafe.

    `message` is one sentence the uploader can act on. It never contains server paths or
    library internals, so the API may show it as is.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConversionError(Exception):
    """qemu-img failed for a reason that is not the image's fault (missing tool, disk full, ...)."""
