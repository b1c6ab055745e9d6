"""`POST /servers` at microversion 2.1, checked field by field with Nova's messages.

Only the shape is checked here; whether the image, flavor, key pair, networks and zone exist is
`ServerService`'s question. Requests this cloud cannot honour are refused by name, never
accepted and ignored: file injection (`personality`), config drives (not built yet) and
boot from volume (block device
mappings, which need the block storage service).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.errors import BadRequest
from vistack.compute.domain.models import NetworkRequest, ServerRequest

MAX_USER_DATA = 65535
KNOWN = {
    "name",
    "imageRef",
    "flavorRef",
    "networks",
    "key_name",
    "metadata",
    "user_data",
    "availability_zone",
    "min_count",
    "max_count",
    "return_reservation_id",
    "security_groups",
    "config_drive",
    "adminPass",
    "accessIPv4",
    "accessIPv6",
    "OS-DCF:diskConfig",
    "personality",
    "block_device_mapping",
    "block_device_mapping_v2",
}


def _invalid(field: str, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. {why}")


def ref_id(value: Any, field: str) -> str:
    """An id given as itself or as the last segment of a link (Nova accepts both)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, "Value must be a non-empty string.")
    return value.rstrip("/").rsplit("/", 1)[-1]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _name(server: Mapping[str, Any]) -> str:
    name = server.get("name")
    if not isinstance(name, str):
        raise _invalid("name", "Value must be a string.")
    if not name.strip() or len(name) > 255:
        raise _invalid("name", "It must be 1 to 255 characters, not only spaces.")
    if name != name.strip():
        raise _invalid("name", "It must not start or end with spaces.")
    return name


def _count(server: Mapping[str, Any], field: str) -> int | None:
    if field not in server:
        return None
    value = server[field]
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _invalid(field, "Value must be an integer of at least 1.")
    return value


def _networks(raw: Any) -> tuple[NetworkRequest, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raise _invalid("networks", "'auto' and 'none' need microversion 2.37; give a list.")
    if not isinstance(raw, list):
        raise _invalid("networks", "Value must be a list.")
    out: list[NetworkRequest] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise _invalid("networks", "Each entry must be an object.")
        unknown = set(entry) - {"uuid", "port", "fixed_ip"}
        if unknown:
            raise _invalid("networks", f"Unknown keys {sorted(unknown)}.")
        port = entry.get("port")
        network = entry.get("uuid")
        fixed_ip = entry.get("fixed_ip")
        if port is not None:
            if not isinstance(port, str) or not _is_uuid(port):
                raise BadRequest(f"Bad networks format: port uuid is not in proper format ({port})")
            out.append(NetworkRequest(port_id=port))
            continue
        if not isinstance(network, str) or not _is_uuid(network):
            raise BadRequest(
                f"Bad networks format: network uuid is not in proper format ({network})"
            )
        if fixed_ip is not None and not isinstance(fixed_ip, str):
            raise _invalid("fixed_ip", "Value must be an IP address string.")
        out.append(NetworkRequest(network_id=network, fixed_ip=fixed_ip))
    return tuple(out)


def _metadata(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _invalid("metadata", "Value must be an object.")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise _invalid("metadata", "Keys must be 1 to 255 characters.")
        if not isinstance(value, str) or len(value) > 255:
            raise _invalid("metadata", f"The value of {key!r} must be a string of at most 255.")
        out[key] = value
    return out


def _user_data(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("User data needs to be valid base 64.")
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("User data needs to be valid base 64.") from None
    if len(decoded) > MAX_USER_DATA:
        raise BadRequest(f"User data is too large: at most {MAX_USER_DATA} bytes.")
    return raw


def _security_groups(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ("default",)
    if not isinstance(raw, list) or not raw:
        raise _invalid("security_groups", "Value must be a non-empty list.")
    names: list[str] = []
    for entry in raw:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not name:
            raise _invalid("security_groups", "Each entry must be {'name': <name or id>}.")
        if name not in names:
            names.append(name)
    return tuple(names)


def access_ip(raw: Any, field: str, version: int) -> str | None:
    """An `accessIPv4`/`accessIPv6`: a valid address of that version, or empty/None."""
    if raw is None or raw == "":
        return None
    try:
        address = ipaddress.ip_address(raw) if isinstance(raw, str) else None
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise _invalid(field, f"{raw!r} is not a valid IPv{version} address.")
    return str(address)


def _flag(raw: Any, field: str) -> bool:
    if raw is None or raw == "":
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return raw.lower() in {"true", "1", "yes"}
    raise _invalid(field, "Value must be a boolean.")


def _local_image(server: Mapping[str, Any]) -> str | None:
    """The image of a block device mapping that only says "boot the image on a local disk"
    (what the openstack CLI sends beside `imageRef`); any other mapping needs volumes.

    :raises BadRequest: a mapping this cloud cannot honour yet.
    """
    if server.get("block_device_mapping"):
        raise BadRequest(_NO_VOLUMES)
    mappings = server.get("block_device_mapping_v2")
    if not mappings:
        return None
    if not isinstance(mappings, list):
        raise _invalid("block_device_mapping_v2", "Value must be a list.")
    image: str | None = None
    for mapping in mappings:
        local_image = (
            isinstance(mapping, Mapping)
            and mapping.get("source_type") == "image"
            and mapping.get("destination_type", "local") == "local"
            and str(mapping.get("boot_index")) == "0"
            and isinstance(mapping.get("uuid"), str)
        )
        if not local_image or image is not None:
            raise BadRequest(_NO_VOLUMES)
        image = str(mapping["uuid"])
    return image


_NO_VOLUMES = (
    "Block device mappings other than the image on a local disk (boot from volume, blank or "
    "volume disks) need the block storage service, which this cloud does not serve yet."
)


def parse_create(body: Any) -> ServerRequest:
    """The request's fields, checked; `flavor` holds only `{"id": flavorRef}` here."""
    if not isinstance(body, Mapping) or not isinstance(body.get("server"), Mapping):
        raise BadRequest("The request body must be an object with a 'server' object.")
    server = body["server"]
    unknown = set(server) - KNOWN
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(sorted(map(repr, unknown)))} "
            "were unexpected)"
        )
    if server.get("personality"):
        raise BadRequest("File injection (personality) is not supported by this cloud.")
    image_ref = server.get("imageRef") or _local_image(server)
    if image_ref in (None, ""):
        raise BadRequest("Missing imageRef attribute")
    if "flavorRef" not in server:
        raise BadRequest("Missing flavorRef attribute")
    image_id = ref_id(image_ref, "imageRef")
    if not _is_uuid(image_id):
        raise BadRequest(f"Invalid imageRef provided: {image_id}")
    min_count = _count(server, "min_count") or 1
    max_count = _count(server, "max_count") or min_count
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    key_name = server.get("key_name")
    if key_name is not None and not isinstance(key_name, str):
        raise _invalid("key_name", "Value must be a string.")
    zone = server.get("availability_zone")
    if zone is not None and (not isinstance(zone, str) or not zone):
        raise _invalid("availability_zone", "Value must be a non-empty string.")
    if _flag(server.get("config_drive"), "config_drive"):
        raise BadRequest("Config drives are not built by this cloud yet; leave config_drive unset.")
    password = server.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise _invalid("adminPass", "Value must be a string.")
    return ServerRequest(
        name=_name(server),
        image_id=image_id,
        flavor={"id": ref_id(server["flavorRef"], "flavorRef")},
        networks=_networks(server.get("networks")),
        key_name=key_name,
        user_data=_user_data(server.get("user_data")),
        metadata=_metadata(server.get("metadata")),
        availability_zone=zone,
        security_groups=_security_groups(server.get("security_groups")),
        config_drive=_flag(server.get("config_drive"), "config_drive"),
        min_count=min_count,
        max_count=max_count,
        admin_password=password,
        access_ip_v4=access_ip(server.get("accessIPv4"), "accessIPv4", 4),
        access_ip_v6=access_ip(server.get("accessIPv6"), "accessIPv6", 6),
    )
