"""Block device mappings an image carries: what the snapshot of a volume-backed server writes
into its (data-less) Glance image, and what a create with that image as `imageRef` reads back.

Nova keeps them as image properties: `bdm_v2` ("True"), `block_device_mapping` (a JSON list of
mappings, each a volume made from a Cinder snapshot: `source_type` snapshot, `snapshot_id`,
`volume_size`, `boot_index`, `device_name`, `delete_on_termination`, ...) and
`root_device_name`. A create from such an image boots from the mapped volumes: the image's
mappings come first, the request's override one with the same device name, and a request's
"image on a local disk" root is dropped when the image maps its own root (Nova's
`_check_and_transform_bdm` and `_merge_bdms_lists`). Pure functions: no service here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vistack.common.errors import BadRequest
from vistack.compute.domain.block_devices import DeviceRequest, check_set, device_name

#: The image properties of a volume-backed server's snapshot (Nova's names).
BDM_PROPERTY = "block_device_mapping"
BDM_V2_PROPERTY = "bdm_v2"
ROOT_DEVICE_PROPERTY = "root_device_name"

#: The mapping keys Nova writes for each volume (`get_image_mapping` of a snapshot mapping).
_MAPPING_KEYS = (
    "source_type",
    "destination_type",
    "snapshot_id",
    "volume_id",
    "image_id",
    "volume_size",
    "boot_index",
    "device_name",
    "delete_on_termination",
    "guest_format",
    "disk_bus",
    "device_type",
    "volume_type",
    "tag",
    "no_device",
)


def image_mapping(
    snapshot_id: str,
    *,
    volume_size: int,
    boot_index: int | None,
    device: str | None,
    delete_on_termination: bool,
    volume_type: str | None = None,
) -> dict[str, Any]:
    """One entry of the image's `block_device_mapping`: a volume made from `snapshot_id`."""
    values: dict[str, Any] = {
        "source_type": "snapshot",
        "destination_type": "volume",
        "snapshot_id": snapshot_id,
        "volume_id": None,
        "image_id": None,
        "volume_size": volume_size,
        "boot_index": boot_index,
        "device_name": device,
        "delete_on_termination": delete_on_termination,
        "guest_format": None,
        "disk_bus": "scsi",  # vSphere servers get volumes as SCSI disks
        "device_type": "disk",
        "volume_type": volume_type,
        "tag": None,
        "no_device": None,
    }
    return {k: values[k] for k in _MAPPING_KEYS}


def mapping_properties(mappings: Sequence[Mapping[str, Any]], root_device: str) -> dict[str, str]:
    """The image properties that carry `mappings` (Glance keeps strings)."""
    return {
        BDM_V2_PROPERTY: "True",
        BDM_PROPERTY: json.dumps(list(mappings)),
        ROOT_DEVICE_PROPERTY: root_device,
    }


def _invalid(image_id: str, why: str) -> BadRequest:
    return BadRequest(f"Block Device Mapping is Invalid: image {image_id} {why}")


def _entries(image_id: str, properties: Mapping[str, Any]) -> list[Any]:
    raw = properties.get(BDM_PROPERTY)
    if raw is None or raw == "":
        return []
    if str(properties.get(BDM_V2_PROPERTY, "")).lower() not in ("true", "1", "yes"):
        raise _invalid(
            image_id,
            "has legacy block device mappings (no bdm_v2 property), which this cloud does "
            "not boot from.",
        )
    try:
        entries = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise _invalid(image_id, "has a block_device_mapping property that is not JSON.") from None
    if not isinstance(entries, list):
        raise _invalid(image_id, "has a block_device_mapping property that is not a list.")
    return entries


def _one(image_id: str, entry: Any) -> DeviceRequest | None:
    if not isinstance(entry, Mapping):
        raise _invalid(image_id, "has a block device mapping that is not an object.")
    if entry.get("no_device"):
        return None
    source = entry.get("source_type")
    destination = entry.get("destination_type") or "volume"
    if source not in ("snapshot", "volume", "image", "blank") or destination != "volume":
        raise _invalid(
            image_id,
            f"maps a {source!r} source to a {destination!r} destination; this cloud boots "
            "from image mappings of volumes only.",
        )
    ref = entry.get(f"{source}_id") if source != "blank" else None
    if source != "blank" and not isinstance(ref, str):
        raise _invalid(image_id, f"has a {source} mapping without its {source}_id.")
    size = entry.get("volume_size")
    index = entry.get("boot_index")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        raise _invalid(image_id, f"has a mapping with volume_size {size!r}.")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
        raise _invalid(image_id, f"has a mapping with boot_index {index!r}.")
    name = entry.get("device_name")
    vtype = entry.get("volume_type")
    return DeviceRequest(
        source_type=str(source),
        destination_type="volume",
        uuid=ref,
        boot_index=index if index is not None and index >= 0 else None,
        volume_size=size,
        device_name=device_name(name) if name else None,
        delete_on_termination=bool(entry.get("delete_on_termination")),
        volume_type=vtype if isinstance(vtype, str) else None,
    )


def image_devices(image_id: str, properties: Mapping[str, Any]) -> tuple[DeviceRequest, ...]:
    """The mappings an image carries (none for an ordinary image).

    :raises BadRequest: mappings this cloud cannot boot from (legacy form, malformed, or
        local disks), named with the image.
    """
    found = (_one(image_id, e) for e in _entries(image_id, properties))
    return tuple(d for d in found if d is not None)


def merge(
    image: Iterable[DeviceRequest], requested: Iterable[DeviceRequest]
) -> tuple[DeviceRequest, ...]:
    """The image's mappings with the request's: the image maps the root, so a requested
    image root goes; a requested mapping replaces the image's of the same device name.

    :raises BadRequest: the merged set is not one Nova would boot (two roots, say).
    """
    wanted = [d for d in requested if not (d.boot_index == 0 and d.source_type == "image")]
    names = {d.device_name for d in wanted if d.device_name}
    merged = [d for d in image if d.device_name is None or d.device_name not in names] + wanted
    check_set(merged)
    return tuple(merged)
