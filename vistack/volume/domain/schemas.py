"""Cinder 3.53's strict volume bodies: from 3.53 a volume create or update naming a field the
API does not define (`user_id`, `status`, a typo...) is a 400, where earlier versions ignored
it; a client then learns at once that a field it meant was not applied."""

from __future__ import annotations

from typing import Any

from vistack.common.errors import BadRequest

#: What `POST /volumes` defines (`backup_id` is 3.47's, `group_id` 3.13's).
CREATE_FIELDS = frozenset(
    {
        "name",
        "description",
        "display_name",
        "display_description",
        "volume_type",
        "metadata",
        "snapshot_id",
        "source_volid",
        "consistencygroup_id",
        "size",
        "availability_zone",
        "multiattach",
        "image_id",
        "imageRef",
        "group_id",
        "backup_id",
    }
)
#: What `PUT /volumes/{id}` defines.
UPDATE_FIELDS = frozenset(
    {"name", "description", "display_name", "display_description", "metadata"}
)
#: Keys a create body may carry beside `volume`.
CREATE_TOP = frozenset({"volume", "OS-SCH-HNT:scheduler_hints", "scheduler_hints"})


def check_volume_body(body: Any, *, create: bool) -> None:
    """:raises BadRequest: a field the volume API does not define (3.53 and later)."""
    if not isinstance(body, dict) or not isinstance(body.get("volume"), dict):
        return  # the request parser answers the missing body in its own words
    allowed = CREATE_FIELDS if create else UPDATE_FIELDS
    unknown = sorted(k for k in body["volume"] if k not in allowed)
    top = sorted(k for k in body if k not in (CREATE_TOP if create else {"volume"}))
    if unknown or top:
        raise BadRequest(
            "Invalid input received: Additional properties are not allowed "
            f"({', '.join(unknown + top)} {'was' if len(unknown + top) == 1 else 'were'} "
            "unexpected)."
        )
