"""`POST /servers` at microversion 2.1, checked field by field with Nova's messages.

Only the shape is checked here; whether the image, flavor, key pair, networks and zone exist is
`ServerService`'s question. Requests this cloud cannot honour are refused by name, never
accepted and ignored (trusted image certificates, for one); personality files are checked by
`personality.py` and travel on the config drive.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.errors import BadRequest
from vistack.compute.domain.models import NetworkRequest, ServerRequest
from vistack.compute.domain.personality import parse_personality
from vistack.compute.domain.tag_rules import check_tags

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


def _networks(raw: Any, tagged: bool = False) -> tuple[NetworkRequest, ...]:
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
        unknown = set(entry) - {"uuid", "port", "fixed_ip", *(("tag",) if tagged else ())}
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
    """The image of a block device mapping that says "boot the image on a local disk" (what
    the openstack CLI sends beside `imageRef`). The mappings themselves are checked by
    `block_devices.parse_create_devices`."""
    mappings = server.get("block_device_mapping_v2")
    if not isinstance(mappings, list):
        return None
    for mapping in mappings:
        if (
            isinstance(mapping, Mapping)
            and mapping.get("source_type") == "image"
            and mapping.get("destination_type", "local") == "local"
            and str(mapping.get("boot_index")) == "0"
            and isinstance(mapping.get("uuid"), str)
        ):
            return str(mapping["uuid"])
    return None


def _default_destination(mapping: Mapping[str, Any]) -> str:
    """Nova's default `destination_type`: local for an image, else volume."""
    return "local" if mapping.get("source_type") == "image" else "volume"


def _boots_from_volume(server: Mapping[str, Any]) -> bool:
    """Whether a mapping makes the root disk a volume (boot index 0, destination volume; or
    the legacy form's volume on the root device): then `imageRef` may be empty."""
    for mapping in server.get("block_device_mapping_v2") or ():
        if (
            isinstance(mapping, Mapping)
            and str(mapping.get("boot_index")) == "0"
            and mapping.get(
                "destination_type", "volume" if mapping.get("source_type") != "image" else "local"
            )
            == "volume"
        ):
            return True
    for mapping in server.get("block_device_mapping") or ():
        name = mapping.get("device_name") if isinstance(mapping, Mapping) else None
        if isinstance(name, str) and name.rsplit("/", 1)[-1] in ("vda", "sda", "xvda", "hda"):
            return True
    return False


def scheduler_group(body: Any) -> str | None:
    """The server group a create names in its scheduler hints (`os:scheduler_hints` or
    `OS-SCH-HNT:scheduler_hints` beside `server`), as Nova's schema has it: a UUID. Other
    hints are ignored, as Nova ignores those of filters it does not run."""
    hints = None
    if isinstance(body, Mapping):
        hints = body.get("os:scheduler_hints", body.get("OS-SCH-HNT:scheduler_hints"))
    if hints is None:
        return None
    if not isinstance(hints, Mapping):
        raise _invalid("os:scheduler_hints", f"{hints!r} is not of type 'object'")
    group = hints.get("group")
    if group is None:
        return None
    if not isinstance(group, str) or not _is_uuid(group):
        raise BadRequest(
            f"Invalid input for field/attribute group. Value: {group}. {group!r} is not a 'uuid'"
        )
    return group


def parse_create(body: Any, version: tuple[int, int] = (2, 1)) -> ServerRequest:
    """The request's fields at microversion `version`, checked; `flavor` holds only
    `{"id": flavorRef}` here."""
    if not isinstance(body, Mapping) or not isinstance(body.get("server"), Mapping):
        raise BadRequest("The request body must be an object with a 'server' object.")
    server = body["server"]
    unknown = set(server) - known_fields(version)
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(sorted(map(repr, unknown)))} "
            "were unexpected)"
        )
    files = parse_personality(server.get("personality"))
    image_ref = server.get("imageRef") or _local_image(server)
    volume_root = _boots_from_volume(server)
    if image_ref in (None, "") and not volume_root:
        raise BadRequest("Missing imageRef attribute")
    if "flavorRef" not in server:
        raise BadRequest("Missing flavorRef attribute")
    image_id = ""  # a volume-backed server has no image (its root is the volume)
    if image_ref not in (None, ""):
        image_id = ref_id(image_ref, "imageRef")
        if not _is_uuid(image_id):
            raise BadRequest(f"Invalid imageRef provided: {image_id}")
        if volume_root:
            image_id = ""
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
    zone, forced = _forced_host(zone)
    requested = forced or destination(server)
    if server.get("trusted_image_certificates") is not None:  # 2.63
        raise BadRequest(
            "Image certificate validation is not supported by this cloud: vSphere does not "
            "verify signed images. Leave trusted_image_certificates unset."
        )
    password = server.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise _invalid("adminPass", "Value must be a string.")
    return ServerRequest(
        name=_name(server),
        image_id=image_id,
        flavor={"id": ref_id(server["flavorRef"], "flavorRef")},
        networks=versioned_networks(server, version),
        auto_networks=server.get("networks") != "none",
        key_name=key_name,
        user_data=_user_data(server.get("user_data")),
        metadata=_metadata(server.get("metadata")),
        availability_zone=zone,
        requested_cluster=requested,
        forced_host=forced is not None,
        security_groups=_security_groups(server.get("security_groups")),
        # The files travel on the config drive (personality.py): asking for files asks for one.
        config_drive=_flag(server.get("config_drive"), "config_drive") or bool(files),
        injected_files=files,
        disk_config=disk_config_of(server.get(DISK_CONFIG, "MANUAL")),
        min_count=min_count,
        max_count=max_count,
        admin_password=password,
        access_ip_v4=access_ip(server.get("accessIPv4"), "accessIPv4", 4),
        access_ip_v6=access_ip(server.get("accessIPv6"), "accessIPv6", 6),
        description=description(server.get("description")),
        hostname=_create_hostname(server, version, max_count),
        tags=check_tags(server["tags"]) if "tags" in server else (),
    )


# ---------------------------------------------------------------- what each microversion changes


def _at_least(version: tuple[int, int], minor: int) -> bool:
    return version >= (2, minor)


def known_fields(version: tuple[int, int]) -> set[str]:
    """The create's fields at `version`: `description` from 2.19, `tags` from 2.52, and no
    `personality` from 2.57 (Nova's schema then refuses it as an unknown property)."""
    known = set(KNOWN)
    if _at_least(version, 19):
        known.add("description")
    if _at_least(version, 52):
        known.add("tags")
    if _at_least(version, 57):
        known.discard("personality")
    if _at_least(version, 63):
        known.add("trusted_image_certificates")
    if _at_least(version, 74):
        known.update(("host", "hypervisor_hostname"))
    if _at_least(version, 90):
        known.add("hostname")
    return known


def description(raw: Any) -> str | None:
    """A server's description (2.19): a string of at most 255 printable characters, or null."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 255 or not raw.isprintable():
        raise _invalid("description", "It must be a printable string of at most 255 characters.")
    return raw


def _device_tags_allowed(version: tuple[int, int]) -> bool:
    """Network device tags: 2.32 to 2.36, then again from 2.42 (Nova's bug and its fix)."""
    return (2, 32) <= version <= (2, 36) or _at_least(version, 42)


def versioned_networks(
    server: Mapping[str, Any], version: tuple[int, int]
) -> tuple[NetworkRequest, ...]:
    """`networks` at `version`: required from 2.37, where it may also be `auto` (the one
    network the project can use) or `none` (no network at all).

    A device `tag` is accepted where the version has it, then refused: the guest learns its
    device tags from the metadata service or config drive, which this cloud does not fill with
    device metadata, so accepting one would promise what the guest never sees.
    """
    raw = server.get("networks")
    if _at_least(version, 37):
        if raw is None:
            raise BadRequest(
                "Invalid input for field/attribute server. 'networks' is a required property"
            )
        if raw in ("auto", "none"):
            return ()
        if isinstance(raw, str):
            raise _invalid("networks", f"'{raw}' is not one of ['none', 'auto'] or a list.")
    tagged = _device_tags_allowed(version)
    networks = _networks(raw, tagged=tagged)
    if tagged and isinstance(raw, list) and any(isinstance(e, Mapping) and "tag" in e for e in raw):
        raise BadRequest(_NO_DEVICE_TAGS)
    return networks


_NO_DEVICE_TAGS = (
    "Device tagging is not supported by this cloud: vSphere guests get no device metadata "
    "from it. Boot without 'tag' on networks and block devices."
)


#: Nova's `hostname` (2.90): 2 to 63 letters, digits and hyphens, a letter or digit at each end.
_HOSTNAME = re.compile(r"[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+")
#: Nova's `fqdn` (2.94): dots allowed too, 2 to 255 characters. Nova's pattern checks only the
#: name's ends; this also wants each dot-separated label a DNS label (none empty, none starting
#: or ending with a hyphen, at most 63), as the guest's resolver will: "a..b" is refused.
_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_FQDN = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def hostname(raw: Any, version: tuple[int, int]) -> str:
    """A hostname a user sets (2.90): Nova's `hostname`, one name of 2 to 63 letters, digits and
    hyphens; from 2.94 a fully qualified name of 2 to 255 characters. Either starts and ends
    with a letter or digit."""
    fqdn = _at_least(version, 94)
    pattern = _FQDN if fqdn else _HOSTNAME
    longest = 255 if fqdn else 63
    if not isinstance(raw, str) or not 2 <= len(raw) <= longest or not pattern.fullmatch(raw):
        raise _invalid(
            "hostname",
            "It must be 2 to 255 characters: dot-separated labels of letters, digits and "
            "hyphens, each starting and ending with a letter or digit."
            if fqdn
            else "It must be 2 to 63 letters, digits and hyphens, starting and ending with a "
            "letter or digit (a fully qualified name from microversion 2.94).",
        )
    return raw


DISK_CONFIG = "OS-DCF:diskConfig"


def disk_config_of(raw: Any) -> str:
    """`OS-DCF:diskConfig`: AUTO or MANUAL (kept and shown; vSphere grows the disk itself)."""
    if raw not in ("AUTO", "MANUAL"):
        raise BadRequest(
            f"Invalid input for field/attribute OS-DCF:diskConfig. Value: {raw}. "
            f"{raw!r} is not one of ['AUTO', 'MANUAL']"
        )
    return str(raw)


def update_fields(version: tuple[int, int]) -> set[str]:
    """The fields `PUT /servers/{id}` takes at `version`."""
    fields = {"name", "accessIPv4", "accessIPv6", DISK_CONFIG}
    if _at_least(version, 19):
        fields.add("description")
    if _at_least(version, 90):
        fields.add("hostname")
    return fields


def versioned_update(server: Mapping[str, Any], version: tuple[int, int]) -> dict[str, Any]:
    """The update's microversioned fields, checked (`update_fields` said which may appear)."""
    changes: dict[str, Any] = {}
    if "description" in server:
        changes["description"] = description(server["description"])
    if "hostname" in server:
        changes["hostname"] = hostname(server["hostname"], version)
    return changes


def _forced_host(zone: str | None) -> tuple[str | None, str | None]:
    """Nova's `availability_zone: "zone:host[:node]"` (an administrator's forced host): the
    zone (None when empty) and the cluster (the node when given, else the host)."""
    if zone is None or ":" not in zone:
        return zone, None
    name, _, rest = zone.partition(":")
    host, _, node = rest.partition(":")
    return name or None, (node or host) or None


def destination(server: Mapping[str, Any]) -> str | None:
    """2.74's `host` and `hypervisor_hostname`: both name a cluster here (a cluster is the
    compute host and its one hypervisor), so both must name the same one."""
    names = {}
    for field in ("host", "hypervisor_hostname"):
        value = server.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or not 1 <= len(value) <= 255:
            raise _invalid(field, "It must be a string of 1 to 255 characters.")
        names[field] = value
    if len(set(names.values())) > 1:
        raise BadRequest(
            f"Compute host {names['host']} has no hypervisor {names['hypervisor_hostname']}: "
            "a compute host here is one cluster, its only hypervisor."
        )
    return next(iter(names.values()), None)


def _create_hostname(
    server: Mapping[str, Any], version: tuple[int, int], max_count: int
) -> str | None:
    """2.90's `hostname` at create: one server only (Nova's "Unable to allocate a single
    hostname to multiple instances")."""
    if "hostname" not in server:
        return None
    if max_count > 1:
        raise BadRequest("Unable to allocate a single hostname to multiple instances")
    return hostname(server["hostname"], version)
