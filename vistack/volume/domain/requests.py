"""Parsing and validating the bodies and queries of volume and snapshot requests (Cinder's
rules and messages), kept apart from the services so each rule is stated once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vistack.common.errors import BadRequest, NotFound

MAX_NAME = 255
MAX_METADATA_KEY = 255
MAX_METADATA_VALUE = 255


@dataclass(frozen=True)
class CreateVolume:
    size: int | None
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    volume_type: str | None = None
    image_ref: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    multiattach: bool = False
    #: The generic volume group to create it in (3.13; the API drops it below).
    group_id: str | None = None
    #: The backup to make it from (3.47; the API refuses it below).
    backup_id: str | None = None


def body_of(body: Any, key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Missing required element '{key}' in request body.")
    fields: dict[str, Any] = body[key]
    return fields


def text(name: str, value: Any, *, limit: int = MAX_NAME) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string, not {type(value).__name__}.")
    if len(value) > limit:
        raise BadRequest(f"{name} has {len(value)} characters, more than the {limit} allowed.")
    return value


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "t", "1", "yes", "y", "on"}:
            return True
        if lowered in {"false", "f", "0", "no", "n", "off"}:
            return False
    raise BadRequest(f"Invalid value '{value}' for {name}: it must be a boolean.")


def size(value: Any, name: str = "size") -> int:
    """A size in GB: a positive integer (also as a string, which Cinder accepts)."""
    if isinstance(value, bool):
        raise BadRequest(f"Invalid input received: {name} must be an integer, not a boolean.")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        raise BadRequest(
            f"Invalid input received: {name} must be an integer and greater than 0, not {value!r}."
        )
    if value > 2**31 - 1:
        raise BadRequest(f"Invalid input received: {name} {value} is too large.")
    return value


def metadata(value: Any) -> dict[str, str]:
    """Cinder metadata: an object of non-empty string keys and string values (≤255 each)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("Invalid metadata: it must be an object of string keys and values.")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise BadRequest("Invalid metadata: metadata property key blank.")
        if len(key) > MAX_METADATA_KEY:
            raise BadRequest(
                "Invalid metadata size: metadata property key greater than 255 characters."
            )
        if not isinstance(item, str):
            raise BadRequest(f"Invalid metadata: the value of {key!r} must be a string.")
        if len(item) > MAX_METADATA_VALUE:
            raise BadRequest(
                "Invalid metadata size: metadata property value greater than 255 characters."
            )
        out[key] = item
    return out


def metadata_item(body: Any, key: str) -> dict[str, str]:
    """The one item of a `PUT .../metadata/{key}` body (`{"meta": {key: value}}`), checked as
    Cinder checks it for volumes and snapshots alike."""
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        raise BadRequest("Malformed request body: missing 'meta'.")
    if len(meta) != 1:
        raise BadRequest("Request body contains too many items.")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    return metadata(meta)


def item_of(items: dict[str, str], key: str) -> str:
    """`items[key]`, or Cinder's 404 for a metadata key that is not there."""
    if key not in items:
        raise NotFound(f"Metadata item was not found: {key}")
    return items[key]


def create_volume(body: Any) -> CreateVolume:
    fields = body_of(body, "volume")
    if fields.get("consistencygroup_id"):
        raise BadRequest(
            "consistencygroup_id is not supported by this cloud (consistency groups are "
            "replaced by generic volume groups: use group_id)."
        )
    image_ref = fields.get("imageRef") or fields.get("image_id")
    snapshot_id = fields.get("snapshot_id")
    source_volid = fields.get("source_volid")
    backup_id = fields.get("backup_id")
    sources = [s for s in (image_ref, snapshot_id, source_volid, backup_id) if s]
    if len(sources) > 1:
        raise BadRequest(
            "Invalid input received: Only one of imageRef, snapshot_id, source_volid or "
            "backup_id may be given."
        )
    raw_size = fields.get("size")
    if raw_size is None and not (snapshot_id or source_volid or backup_id):
        raise BadRequest("Invalid input received: size is required (an integer in GB).")
    for name, value in (
        ("imageRef", image_ref),
        ("snapshot_id", snapshot_id),
        ("source_volid", source_volid),
        ("backup_id", backup_id),
    ):
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"Invalid input received: {name} must be a string id.")
    volume_type = fields.get("volume_type")
    if volume_type is not None and not isinstance(volume_type, str):
        raise BadRequest("Invalid input received: volume_type must be a type's name or id.")
    return CreateVolume(
        size=None if raw_size is None else size(raw_size),
        name=text("name", fields.get("name") if "name" in fields else fields.get("display_name")),
        description=text(
            "description",
            fields.get("description", fields.get("display_description")),
            limit=65535,
        ),
        metadata=metadata(fields.get("metadata")),
        availability_zone=text("availability_zone", fields.get("availability_zone")),
        volume_type=volume_type or None,
        image_ref=image_ref or None,
        snapshot_id=snapshot_id or None,
        source_volid=source_volid or None,
        multiattach=boolean("multiattach", fields.get("multiattach", False)),
        group_id=_group_id(fields.get("group_id")),
        backup_id=backup_id or None,
    )


def _group_id(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadRequest("Invalid input received: group_id must be a group's id.")
    return value or None


def update_fields(body: Any, key: str) -> dict[str, Any]:
    """The name, description and metadata an update sets (Cinder's display_ aliases too)."""
    fields = body_of(body, key)
    out: dict[str, Any] = {}
    if "name" in fields or "display_name" in fields:
        out["name"] = text("name", fields.get("name", fields.get("display_name")))
    if "description" in fields or "display_description" in fields:
        out["description"] = text(
            "description",
            fields.get("description", fields.get("display_description")),
            limit=65535,
        )
    if "metadata" in fields:
        out["metadata"] = metadata(fields["metadata"])
    if not out:
        raise BadRequest(f"Invalid input received: Nothing to update in '{key}'.")
    return out


def metadata_filter(value: str | None) -> dict[str, str]:
    """The `metadata` list filter: a JSON object, or Cinder's Python-literal form."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = json.loads(value.replace("'", '"'))
        except ValueError:
            raise BadRequest(
                f"Invalid metadata filter {value!r}: it must be a JSON object."
            ) from None
    if not isinstance(parsed, dict):
        raise BadRequest(f"Invalid metadata filter {value!r}: it must be a JSON object.")
    return {str(k): str(v) for k, v in parsed.items()}
