"""Recognise disk formats other than the declared one from an image's first bytes.

qemu-img probes the format when none is given, so bytes declared "raw" that are really a qcow2
or a VMDK descriptor could make a later tool follow a backing file or extent the uploader chose.
Glance's format safety check refuses such images; this is the same idea, for the formats qemu
knows by a signature in the first sectors.
"""

from __future__ import annotations

import re

#: How many leading bytes `identify` looks at (qemu probes 2 KiB; more only refuses more).
SNIFF_BYTES = 4096

#: (offset, signature, what it is) for formats with a fixed magic.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"KDMV", "a VMDK image"),
    (0, b"COWD", "a VMDK (ESX COWD) image"),
    (0, b"vhdxfile", "a VHDX image"),
    (0, b"conectix", "a VHD image"),
    (0, b"LUKS\xba\xbe", "a LUKS-encrypted volume"),
    (0, b"QED\x00", "a QED image"),
    (0, b"WithoutFreeSpace", "a Parallels image"),
    (0, b"WithouFreSpacExt", "a Parallels image"),
    (0, b"Bochs Virtual HD Image", "a Bochs image"),
    (0, b"#!/bin/sh\n#V2.0 Format\n", "a cloop image"),
    (0x40, b"\x7f\x10\xda\xbe", "a VDI image"),
)

#: What qemu's VMDK probe accepts as a descriptor: comment or blank lines, then `version=N`.
_DESCRIPTOR = re.compile(rb"(?:(?:#[^\n]*|[ \t]*\r?)\n)*version=[1-3]\r?\n")


def identify(head: bytes) -> str | None:
    """Name the non-raw format `head` starts with ("a qcow2 image"), or None.

    An ISO 9660 image is not reported: to qemu it is raw, and raw is how Nova uses it.
    """
    if head.startswith(b"QFI\xfb"):
        version = int.from_bytes(head[4:8], "big") if len(head) >= 8 else 0
        return "a qcow (version 1) image" if version == 1 else "a qcow2 image"
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    if is_descriptor(head):
        return "a plain-text VMDK descriptor"
    return None


def is_descriptor(head: bytes) -> bool:
    """True when `head` is the start of a VMDK text descriptor (which names other files)."""
    return head.lstrip().startswith(b"# Disk DescriptorFile") or bool(_DESCRIPTOR.match(head))
