"""The image schema Glance publishes at `/v2/schemas/image`, and the checks it implies.

Clients (Horizon, the CLI's `image set --property`) read the schema to decide how to send a
value, so the schema served and the checks run here are the same table.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from vistack.common.errors import BadRequest, Forbidden
from vistack.image.domain.models import GLANCE_PREFIX, READ_ONLY, RESERVED, Visibility
from vistack.image.formats import SUPPORTED_CONTAINER_FORMATS, SUPPORTED_DISK_FORMATS

MAX_NAME = 255
MAX_PROPERTY_VALUE = 65535

#: Properties the VMware driver reads, offered in the schema so clients send them as strings.
VMWARE_PROPERTIES: dict[str, dict[str, Any]] = {
    "vmware_disktype": {
        "type": "string",
        "enum": ["sparse", "streamOptimized", "preallocated", "thin", "eagerZeroedThick"],
        "description": "How the VMDK's bytes are laid out (Nova's vmwareapi driver reads it).",
    },
    "vmware_adaptertype": {
        "type": "string",
        "enum": ["lsiLogic", "busLogic", "lsiLogicsas", "paraVirtual", "ide", "lsilogic"],
        "description": "The disk controller the image expects.",
    },
    "vmware_ostype": {"type": "string", "description": "vSphere guest OS identifier."},
}


def _nullable_string(max_length: int, description: str) -> dict[str, Any]:
    return {"type": ["null", "string"], "maxLength": max_length, "description": description}


def image_schema() -> dict[str, Any]:
    """The JSON schema of one image, as `/v2/schemas/image` serves it."""
    read_only = {"readOnly": True}
    return {
        "name": "image",
        "additionalProperties": {"type": "string"},
        "links": [
            {"href": "{self}", "rel": "self"},
            {"href": "{file}", "rel": "enclosure"},
            {"href": "{schema}", "rel": "describedby"},
        ],
        "properties": {
            "id": {
                "type": "string",
                "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
                "description": "An identifier for the image",
            },
            "name": _nullable_string(MAX_NAME, "Descriptive name for the image"),
            "status": {
                "type": "string",
                "enum": [
                    "queued",
                    "saving",
                    "active",
                    "killed",
                    "deleted",
                    "uploading",
                    "importing",
                    "pending_delete",
                    "deactivated",
                ],
                "description": "Status of the image",
                **read_only,
            },
            "visibility": {
                "type": "string",
                "enum": [v.value for v in Visibility],
                "description": "Scope of image accessibility",
            },
            "protected": {
                "type": "boolean",
                "description": "If true, image will not be deletable.",
            },
            "os_hidden": {
                "type": "boolean",
                "description": "If true, image will not appear in default image list response.",
            },
            "checksum": {**_nullable_string(32, "md5 hash of image contents."), **read_only},
            "os_hash_algo": {
                **_nullable_string(64, "Algorithm to calculate the os_hash_value"),
                **read_only,
            },
            "os_hash_value": {
                **_nullable_string(128, "Hexdigest of the image contents using os_hash_algo"),
                **read_only,
            },
            "owner": _nullable_string(255, "Owner of the image"),
            "size": {
                "type": ["null", "integer"],
                "description": "Size of image file in bytes",
                **read_only,
            },
            "virtual_size": {
                "type": ["null", "integer"],
                "description": "Virtual size of image in bytes",
                **read_only,
            },
            "container_format": {
                "type": ["null", "string"],
                "enum": [None, *SUPPORTED_CONTAINER_FORMATS],
                "description": "Format of the container",
            },
            "disk_format": {
                "type": ["null", "string"],
                "enum": [None, *SUPPORTED_DISK_FORMATS],
                "description": "Format of the disk",
            },
            "created_at": {
                "type": "string",
                "description": "Date and time of image registration",
                **read_only,
            },
            "updated_at": {
                "type": "string",
                "description": "Date and time of the last image modification",
                **read_only,
            },
            "tags": {
                "type": "array",
                "items": {"type": "string", "maxLength": 255},
                "description": "List of strings related to the image",
            },
            "direct_url": {
                "type": "string",
                "description": "URL to access the image file",
                **read_only,
            },
            "min_ram": {
                "type": "integer",
                "description": "Amount of ram (in MB) required to boot image.",
            },
            "min_disk": {
                "type": "integer",
                "description": "Amount of disk space (in GB) required to boot image.",
            },
            "self": {"type": "string", **read_only, "description": "An image self url"},
            "file": {"type": "string", **read_only, "description": "An image file url"},
            "stores": {
                "type": "string",
                **read_only,
                "description": "Store in which image data resides.",
            },
            "schema": {"type": "string", **read_only, "description": "An image schema url"},
            "locations": {
                "type": "array",
                "items": {"type": "object"},
                "description": "A set of URLs to access the image file kept in external store",
            },
            **VMWARE_PROPERTIES,
        },
    }


def images_schema() -> dict[str, Any]:
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"href": "{first}", "rel": "first"},
            {"href": "{next}", "rel": "next"},
            {"href": "{schema}", "rel": "describedby"},
        ],
    }


def member_schema() -> dict[str, Any]:
    return {
        "name": "member",
        "properties": {
            "created_at": {
                "type": "string",
                "description": "Date and time of image member creation",
            },
            "image_id": {"type": "string", "description": "An identifier for the image"},
            "member_id": {
                "type": "string",
                "description": "An identifier for the image member (tenantId)",
            },
            "schema": {"type": "string", "readOnly": True},
            "status": {
                "type": "string",
                "enum": ["pending", "accepted", "rejected"],
                "description": "The status of this image member",
            },
            "updated_at": {
                "type": "string",
                "description": "Date and time of last modification of image member",
            },
        },
    }


def members_schema() -> dict[str, Any]:
    return {
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema()},
            "schema": {"type": "string"},
        },
        "links": [{"href": "{schema}", "rel": "describedby"}],
    }


# -- checks ------------------------------------------------------------------------------------

_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def check_writable(name: str) -> None:
    """Refuse names a user may not set, as Glance does (403)."""
    if name in READ_ONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if name in RESERVED or name.startswith(GLANCE_PREFIX):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def check_value(name: str, value: Any) -> Any:
    """Validate one attribute or property value; return it normalised.

    :raises BadRequest: the value does not fit the schema.
    """
    checker = _CHECKS.get(name)
    if checker is not None:
        return checker(name, value)
    if not isinstance(value, str):
        raise BadRequest(
            f"Provided object does not match schema 'image': {value!r} is not of type 'string' "
            f"(property {name!r}; extra properties are strings)."
        )
    if len(name) > MAX_NAME:
        raise BadRequest(f"Property name is longer than {MAX_NAME} characters: {name[:40]}...")
    if not name:
        raise BadRequest("Property names must not be empty.")
    if len(value) > MAX_PROPERTY_VALUE:
        raise BadRequest(f"Property {name!r} is longer than {MAX_PROPERTY_VALUE} characters.")
    enum = VMWARE_PROPERTIES.get(name, {}).get("enum")
    if enum is not None and value not in enum:
        raise BadRequest(f"Invalid value {value!r} for {name}; expected one of {', '.join(enum)}.")
    return value


def _string_or_null(max_length: int) -> Any:
    def check(name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"Invalid value for {name!r}: {value!r} is not a string or null.")
        if value is not None and len(value) > max_length:
            raise BadRequest(f"Invalid value for {name!r}: longer than {max_length} characters.")
        return value

    return check


def _boolean(name: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise BadRequest(f"Invalid value for {name!r}: {value!r} is not of type 'boolean'.")
    return value


def _non_negative_int(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"Invalid value for {name!r}: {value!r} is not a non-negative integer.")
    if value > 2**31 - 1:
        raise BadRequest(f"Invalid value for {name!r}: {value} is too large.")
    return value


def _enum(choices: tuple[str, ...], *, nullable: bool = True) -> Any:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return value
        if value not in choices:
            raise BadRequest(
                f"Invalid value {value!r} for {name}: this cloud accepts {', '.join(choices)}."
            )
        return value

    return check


def _tags(name: str, value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise BadRequest("Invalid value for 'tags': expected a list of strings.")
    for tag in value:
        if len(tag) > 255:
            raise BadRequest(f"Tag is longer than 255 characters: {tag[:40]}...")
    unique = list(dict.fromkeys(value))
    return unique


def _image_id(name: str, value: Any) -> Any:
    if not isinstance(value, str) or not _UUID.match(value):
        raise BadRequest(f"Invalid value for 'id': {value!r} is not a UUID.")
    return str(uuid.UUID(value))


_CHECKS: dict[str, Any] = {
    "id": _image_id,
    "name": _string_or_null(MAX_NAME),
    "owner": _string_or_null(255),
    "visibility": _enum(tuple(v.value for v in Visibility), nullable=False),
    "protected": _boolean,
    "os_hidden": _boolean,
    "disk_format": _enum(SUPPORTED_DISK_FORMATS),
    "container_format": _enum(SUPPORTED_CONTAINER_FORMATS),
    "min_ram": _non_negative_int,
    "min_disk": _non_negative_int,
    "tags": _tags,
}
