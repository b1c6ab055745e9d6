"""What a new volume is made from: nothing, an image, another volume or a snapshot.

Each source is checked when the create is asked (so a bad one is a 4xx, not a volume in
`error`) and resolved to the disk the build copies and how big that disk is.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from vistack.common.errors import BadRequest, NotFound
from vistack.image.domain.models import Image

GB = 2**30


@dataclass(frozen=True)
class Source:
    """The disk to copy (None: a blank volume), its size, and what the volume inherits."""

    path: str | None = None
    size_gb: int = 0
    bootable: bool = False
    image_id: str | None = None
    image_metadata: dict[str, str] | None = None
    volume_type_id: str | None = None
    availability_zone: str | None = None
    #: A backup written onto the new volume's blank disk instead of a copy (3.47).
    backup_id: str | None = None


def image_source(image: Image, size_gb: int) -> Source:
    """A volume of `size_gb` made from `image` (VMDK on a vSphere datastore store).

    :raises BadRequest: the image is not active, not a VMDK disk, off vSphere, or bigger than
        the volume.
    """
    if image.status != "active":
        raise BadRequest(f"Invalid image: image {image.id} is not active ({image.status}).")
    if image.disk_format != "vmdk" or image.container_format not in ("bare", None):
        raise BadRequest(
            f"Invalid image: image {image.id} is {image.disk_format}/{image.container_format}; "
            "this cloud makes volumes from VMDK disk images (container 'bare') only."
        )
    path = image_disk_path(image)
    if path is None:
        raise BadRequest(
            f"Invalid image: image {image.id} has no data on a vSphere datastore; upload it to "
            "a datastore store to make volumes from it."
        )
    image_gb = max(1, -(-int(image.virtual_size or image.size or 0) // GB))
    needed = max(image_gb, image.min_disk or 0)
    if size_gb < needed:
        raise BadRequest(
            f"Invalid input received: Image {image.id} needs a volume of at least {needed} GB "
            f"(its size or min_disk); {size_gb} GB was asked for."
        )
    return Source(
        path=path,
        size_gb=image_gb,
        bootable=True,
        image_id=image.id,
        image_metadata=image_metadata(image),
    )


def image_disk_path(image: Image) -> str | None:
    """`[ds] path` of the image's file on a datastore store, None when it has none."""
    for url in image.locations.values():
        parts = urlsplit(url)
        if parts.scheme != "vsphere":
            continue
        datastore = parse_qs(parts.query).get("dsName", [""])[0]
        path = unquote(parts.path).removeprefix("/folder/")
        if datastore and path:
            return f"[{datastore}] {path}"
    return None


def image_metadata(image: Image) -> dict[str, str]:
    """Cinder's `volume_image_metadata`: the image's core fields and its properties."""
    fields = {
        "image_id": image.id,
        "image_name": image.name,
        "checksum": image.checksum,
        "container_format": image.container_format,
        "disk_format": image.disk_format,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "size": image.size,
    }
    out = {key: str(value) for key, value in fields.items() if value is not None}
    out.update({key: str(value) for key, value in image.properties.items()})
    return out


def check_size(size_gb: int, source_gb: int, what: str) -> None:
    if size_gb < source_gb:
        raise BadRequest(
            f"Invalid input received: Volume size '{size_gb}'GB cannot be smaller than the "
            f"{what} size '{source_gb}'GB. They must be >= original {what} size."
        )


def not_found(kind: str, ident: str) -> NotFound:
    return NotFound(f"{kind} {ident} could not be found.")
