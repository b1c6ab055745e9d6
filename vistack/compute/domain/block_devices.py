"""Block device mappings: what a create's `block_device_mapping_v2` (or the legacy
`block_device_mapping`) asks for, checked with Nova's messages, and the guest device names
Nova gives the disks.

Only the shape is checked here (pure functions, no service): whether the volumes and images
exist, and whether the flavor and quota allow them, is the create's question
(`boot_volumes.py`). What vSphere cannot do is refused by name: local disks other than the
image's root (ephemeral and swap disks from a mapping). Snapshot sources (a volume made from a
Cinder snapshot, what the image of a volume-backed server's snapshot maps) need a block
storage service that offers snapshots to Nova (`volume_snapshot_port.py`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vistack.common.errors import BadRequest

SOURCE_TYPES = ("image", "volume", "blank", "snapshot")
DESTINATION_TYPES = ("local", "volume")
#: The device names a vSphere VM's SCSI disks get, in slot order (`/dev/sda` is the root).
DEVICE_PREFIX = "/dev/sd"
_DEVICE = re.compile(r"^(/dev/)?(x?v|s|h)d[a-z]+$")
_V2_KEYS = {
    "source_type",
    "destination_type",
    "uuid",
    "boot_index",
    "volume_size",
    "device_name",
    "delete_on_termination",
    "guest_format",
    "disk_bus",
    "device_type",
    "no_device",
    "tag",
    "volume_type",
    "connection_info",
}
_V1_KEYS = {
    "virtual_name",
    "volume_id",
    "snapshot_id",
    "volume_size",
    "device_name",
    "delete_on_termination",
    "no_device",
    "connection_info",
}


@dataclass(frozen=True)
class DeviceRequest:
    """One checked mapping of a create."""

    source_type: str
    destination_type: str
    uuid: str | None = None
    boot_index: int | None = None
    volume_size: int | None = None
    device_name: str | None = None
    delete_on_termination: bool = False
    tag: str | None = None
    volume_type: str | None = None

    @property
    def is_root_volume(self) -> bool:
        """The boot disk is a volume (the server is volume-backed)."""
        return self.boot_index == 0 and self.destination_type == "volume"

    @property
    def is_local_image(self) -> bool:
        """The ordinary image boot, said as a mapping (what the openstack CLI sends)."""
        return self.source_type == "image" and self.destination_type == "local"


@dataclass(frozen=True)
class BlockDevice:
    """A server's block device as recorded (`compute_block_device_mapping`)."""

    uuid: str
    server_id: str
    boot_index: int | None
    source_type: str
    destination_type: str
    volume_id: str | None
    image_id: str | None
    volume_size: int | None
    volume_type: str | None
    device_name: str | None
    delete_on_termination: bool
    tag: str | None
    attachment_id: str | None
    nova_created: bool
    path: str | None

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0 and self.destination_type == "volume"

    @property
    def snapshot_id(self) -> str | None:
        """The snapshot a volume is made from (source_type snapshot). Recorded in the
        `image_id` column, the mapping's source id (the table has no snapshot column)."""
        return self.image_id if self.source_type == "snapshot" else None


def _invalid(field: str, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. {why}")


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _bool(raw: Any, field: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return raw.lower() in {"true", "1", "yes"}
    raise _invalid(field, f"Value: {raw}. {raw!r} is not of type 'boolean'")


def _int(raw: Any, field: str, minimum: int) -> int:
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < minimum:
        raise _invalid(field, f"Value: {raw}. It must be an integer of at least {minimum}.")
    return raw


def device_name(raw: Any) -> str:
    """A device name as given (`vdb`, `/dev/sdb`), checked; shown back as given with `/dev/`."""
    if not isinstance(raw, str) or not _DEVICE.match(raw) or len(raw) > 255:
        raise BadRequest(f"The supplied device path ({raw}) is invalid.")
    return raw if raw.startswith("/dev/") else f"/dev/{raw}"


def device_tag(raw: Any) -> str:
    """A device tag (2.32/2.42 at create, 2.49 at attach): 1 to 60 characters, no `/` or `,`."""
    if not isinstance(raw, str) or not 1 <= len(raw) <= 60 or "/" in raw or "," in raw:
        raise _invalid("tag", f"Value: {raw}. It must be 1 to 60 characters without '/' or ','.")
    return raw


def parse_v2(raw: Any, *, tags: bool, volume_type: bool) -> tuple[DeviceRequest, ...]:
    """`block_device_mapping_v2` (a list of mappings): each checked, then the set as a whole.

    :param tags: the microversion has device tags (2.32-2.36, 2.42+).
    :param volume_type: the microversion has `volume_type` (2.67+).
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _invalid("block_device_mapping_v2", f"{raw!r} is not of type 'array'")
    out = [_one_v2(entry, tags=tags, volume_type=volume_type) for entry in raw]
    check_set(out)
    return tuple(out)


def _one_v2(entry: Any, *, tags: bool, volume_type: bool) -> DeviceRequest:
    if not isinstance(entry, Mapping):
        raise _invalid("block_device_mapping_v2", "Each entry must be an object.")
    allowed = _V2_KEYS - ({"tag"} if not tags else set())
    allowed = allowed - ({"volume_type"} if not volume_type else set())
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} were "
            "unexpected)"
        )
    if entry.get("no_device"):
        raise BadRequest("'no_device' mappings are not supported: leave the mapping out.")
    source = entry.get("source_type")
    if source not in SOURCE_TYPES:
        raise _invalid("source_type", f"Value: {source}. It must be one of {list(SOURCE_TYPES)}.")
    destination = entry.get("destination_type", "volume" if source != "image" else "local")
    if destination not in DESTINATION_TYPES:
        raise _invalid(
            "destination_type", f"Value: {destination}. It must be one of ['local', 'volume']."
        )
    boot_index: int | None = None
    raw_index = entry.get("boot_index")
    if raw_index is not None and raw_index != "":
        boot_index = _int(raw_index, "boot_index", -1)
        if boot_index < 0:
            boot_index = None  # Nova's "-1": not bootable
    ref = entry.get("uuid")
    if source != "blank":
        if not _is_uuid(ref):
            raise BadRequest(f"Invalid {source} id: {ref!r}. Give its UUID as 'uuid'.")
    elif ref is not None:
        raise BadRequest("A blank mapping names no uuid.")
    size = entry.get("volume_size")
    volume_size = _int(size, "volume_size", 1) if size not in (None, "") else None
    for field in ("guest_format", "disk_bus", "device_type"):
        value = entry.get(field)
        if value is not None and not isinstance(value, str):
            raise _invalid(field, f"Value: {value}. It must be a string.")
    if entry.get("device_type") not in (None, "disk"):
        raise BadRequest(
            f"device_type {entry['device_type']!r} is not supported: vSphere servers get "
            "volumes as SCSI disks (device_type 'disk')."
        )
    vtype = entry.get("volume_type")
    if vtype is not None and (not isinstance(vtype, str) or not 1 <= len(vtype) <= 255):
        raise _invalid("volume_type", f"Value: {vtype}. It must be 1 to 255 characters.")
    return DeviceRequest(
        source_type=str(source),
        destination_type=str(destination),
        uuid=str(ref) if ref is not None else None,
        boot_index=boot_index,
        volume_size=volume_size,
        device_name=device_name(entry["device_name"]) if entry.get("device_name") else None,
        delete_on_termination=_bool(
            entry.get("delete_on_termination", False), "delete_on_termination"
        )
        if entry.get("delete_on_termination") is not None
        else False,
        tag=device_tag(entry["tag"]) if entry.get("tag") is not None else None,
        volume_type=vtype,
    )


def parse_v1(raw: Any) -> tuple[DeviceRequest, ...]:
    """The legacy `block_device_mapping`: volumes (`volume_id`) by device name; the one on
    the root device (`vda`/`sda`) is the boot volume; `snapshot_id` maps a volume made
    from that snapshot."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _invalid("block_device_mapping", f"{raw!r} is not of type 'array'")
    out: list[DeviceRequest] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise _invalid("block_device_mapping", "Each entry must be an object.")
        unknown = sorted(set(entry) - _V1_KEYS)
        if unknown:
            raise BadRequest(
                f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                "were unexpected)"
            )
        if entry.get("no_device"):
            continue
        snapshot_id = entry.get("snapshot_id")
        volume_id = entry.get("volume_id")
        if snapshot_id:  # a volume made from the snapshot (Nova's legacy snapshot mapping)
            if not _is_uuid(snapshot_id):
                raise BadRequest(f"Invalid snapshot id: {snapshot_id!r}.")
        elif not _is_uuid(volume_id):
            raise BadRequest(f"Invalid volume id: {volume_id!r}.")
        if not entry.get("device_name"):
            raise BadRequest("Each legacy block device mapping needs its device_name.")
        name = device_name(entry["device_name"])
        root = index_of(name) == 0  # the root device (`vda`, `sda`) is the boot volume
        size = entry.get("volume_size")
        dot = entry.get("delete_on_termination")
        out.append(
            DeviceRequest(
                source_type="snapshot" if snapshot_id else "volume",
                destination_type="volume",
                uuid=str(snapshot_id or volume_id),
                boot_index=0 if root else None,
                volume_size=_int(size, "volume_size", 1) if size not in (None, "") else None,
                device_name=name,
                delete_on_termination=_bool(dot, "delete_on_termination")
                if dot is not None
                else False,
            )
        )
    check_set(out)
    return tuple(out)


SNAPSHOTS_UNSUPPORTED = (
    "Block device mappings from volume snapshots (source_type 'snapshot') are not supported "
    "by this cloud's block storage service: create a volume from the snapshot in the block "
    "storage service and map that volume."
)
LOCAL_DISKS_UNSUPPORTED = (
    "Local block devices other than the image's root disk (ephemeral or swap disks, "
    "destination_type 'local') are not supported on vSphere: use a blank volume "
    "(source_type 'blank', destination_type 'volume') instead."
)


def check_set(devices: Iterable[DeviceRequest]) -> None:
    """What Nova checks across the mappings: one boot device, boot indexes without gaps,
    unique device names, and only the combinations this cloud can build."""
    listed = list(devices)
    for device in listed:
        if device.destination_type == "local" and not (
            device.source_type == "image" and device.boot_index == 0
        ):
            raise BadRequest(LOCAL_DISKS_UNSUPPORTED)
        if device.source_type == "blank" and device.volume_size is None:
            raise BadRequest("A blank volume mapping needs its volume_size.")
        if (
            device.source_type == "image"
            and device.destination_type == "volume"
            and device.volume_size is None
        ):
            raise BadRequest(
                "Images with destination_type 'volume' need to have a non-zero size specified"
            )
    indexes = sorted(d.boot_index for d in listed if d.boot_index is not None)
    if indexes and indexes != list(range(len(indexes))):
        raise BadRequest(
            "Boot sequence for the instance and image/block device mapping combination is "
            "not valid."
        )
    names = [d.device_name for d in listed if d.device_name is not None]
    if len(set(names)) != len(names):
        raise BadRequest("The supplied device names are not unique.")
    volumes = [d.uuid for d in listed if d.source_type == "volume"]
    if len(set(volumes)) != len(volumes):
        raise BadRequest("A volume may be mapped only once.")


def boot_of(devices: Iterable[DeviceRequest]) -> DeviceRequest | None:
    """The mapping with boot index 0, if any."""
    return next((d for d in devices if d.boot_index == 0), None)


# ---------------------------------------------------------------- guest device names


def letters(index: int) -> str:
    """0 → `a`, 25 → `z`, 26 → `aa`: the suffix of a device name."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def index_of(name: str) -> int | None:
    """The slot a device name (`/dev/sdc`, `vdc`, `xvdc`) stands for (c → 2), None if odd."""
    match = re.match(r"^(?:/dev/)?(?:x?v|s|h)d([a-z]+)$", name)
    if match is None:
        return None
    value = 0
    for char in match.group(1):
        value = value * 26 + (ord(char) - ord("a") + 1)
    return value - 1


def next_device(taken: Iterable[str | None], *, root_taken: bool = True) -> str:
    """The first free `/dev/sdX` after the ones in use (the root `/dev/sda` counts as taken
    for a server built from an image), as Nova's VMware driver names SCSI disks."""
    used = {i for i in (index_of(n) for n in taken if n) if i is not None}
    if root_taken:
        used.add(0)
    index = 0
    while index in used:
        index += 1
    return DEVICE_PREFIX + letters(index)


def check_device(asked: str, taken: Iterable[str | None], *, root_taken: bool = True) -> str:
    """A device name an attach asked for: valid, and not in use by another disk of the
    server (the root's included).

    :raises BadRequest: malformed, or already used.
    """
    name = device_name(asked)
    index = index_of(name)
    used = {i for i in (index_of(n) for n in taken if n) if i is not None}
    if root_taken:
        used.add(0)
    if index in used:
        raise BadRequest(f"The supplied device path ({name}) is in use.")
    return name


TAGS_UNSUPPORTED = (
    "Tagged volume attachment is not supported for this server instance: vSphere guests get "
    "no device metadata from this cloud. Attach without 'tag'."
)


def parse_create_devices(body: Any, version: tuple[int, int]) -> tuple[DeviceRequest, ...]:
    """A create's mappings at `version` (v2, or the legacy v1 form, not both), without the
    plain "image on a local disk" one, which is the ordinary image boot.

    :raises BadRequest: malformed, or what this cloud cannot build (local disks other than
        the image's root, device tags).
    """
    server = body.get("server") if isinstance(body, Mapping) else None
    if not isinstance(server, Mapping):
        return ()
    v2 = server.get("block_device_mapping_v2")
    v1 = server.get("block_device_mapping")
    if v2 and v1:
        raise BadRequest(
            "Using different block_device_mapping syntaxes is not allowed in the same request."
        )
    tags = (2, 32) <= version <= (2, 36) or version >= (2, 42)
    devices = parse_v1(v1) if v1 else parse_v2(v2, tags=tags, volume_type=version >= (2, 67))
    if any(d.tag is not None for d in devices):
        raise BadRequest(TAGS_UNSUPPORTED)
    return tuple(d for d in devices if not d.is_local_image)
