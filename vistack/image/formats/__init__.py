"""Check uploaded images against their declared formats, and convert them for vSphere.

Images are untrusted input. `FormatInspector` sees an upload once, as it streams, and refuses
bytes that are not what the image's disk_format/container_format promise, or that would make a
tool read files the uploader chose (qcow2 backing or data files, VMDK extents that name other
files, OVA members with paths or links, OVF DOCTYPEs). Only header regions are buffered (at most
1 MiB), so memory stays flat however large the image. `convert_to_stream_optimized_vmdk` turns a
checked qcow2 or raw image into the streamOptimized VMDK vSphere imports.

Pure Python plus pycdlib (ISO) and qemu-img (conversion); no web, database or vSphere code.
"""

from vistack.image.formats.convert import convert_to_stream_optimized_vmdk
from vistack.image.formats.errors import ConversionError, InvalidImage
from vistack.image.formats.facts import ImageFacts
from vistack.image.formats.inspector import (
    SUPPORTED_CONTAINER_FORMATS,
    SUPPORTED_DISK_FORMATS,
    FormatInspector,
)

__all__ = [
    "SUPPORTED_CONTAINER_FORMATS",
    "SUPPORTED_DISK_FORMATS",
    "ConversionError",
    "FormatInspector",
    "ImageFacts",
    "InvalidImage",
    "convert_to_stream_optimized_vmdk",
]
