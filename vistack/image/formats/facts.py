"""What checking an image learns, and the arithmetic every format shares.

Kept apart from the checkers so that the inspector, the converter and the image service agree on
one definition of "min_disk" (GiB rounded up) and of the property names Nova's vmwareapi driver
reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SECTOR = 512
MIB = 1 << 20
GIB = 1 << 30

#: Image property names Nova's vmwareapi driver reads.
DISKTYPE = "vmware_disktype"
ADAPTERTYPE = "vmware_adaptertype"
OSTYPE = "vmware_ostype"

#: A bare file name: what an extent or an OVA member may be called. A slash, backslash or
#: colon could make qemu (or a tar extractor) reach another file, a protocol or a JSON spec.
_BARE_NAME = re.compile(r"[^/\\:\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class ImageFacts:
    """Facts the bytes proved, for the image service to store as the image's attributes.

    `properties` holds only what was learned; the caller merges it over the declared properties.
    Facts taken from metadata the uploader wrote (an OVF's OS type, a descriptor's adapter type)
    are left out when the uploader already declared that property, so they never override the
    user; facts about the bytes' structure (`vmware_disktype`) always win, because Nova would
    misread the disk otherwise.
    """

    virtual_size: int | None
    properties: dict[str, str] = field(default_factory=dict)
    min_ram: int | None = None
    min_disk: int | None = None


def gib_ceil(size: int) -> int:
    """Bytes to whole GiB, rounded up, as Glance's min_disk counts."""
    return -(-size // GIB)


def is_bare_name(name: str) -> bool:
    """True when `name` names a file beside the image, never a path, parent or protocol."""
    return bool(_BARE_NAME.fullmatch(name)) and ".." not in name and name != "."


def quoted(text: str, limit: int = 80) -> str:
    """`text` quoted for a message, shortened: names in images can be kilobytes long."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
