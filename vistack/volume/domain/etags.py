"""Volume metadata ETags (Cinder 3.15): a read of a volume's metadata carries an `ETag`, and
an update sent with `If-Match` is applied only if the metadata still has that tag, so two
clients editing the same metadata cannot silently overwrite each other (the lost update).

The tag is the MD5 of the metadata's JSON, as Cinder computes it, so a client comparing tags
across services sees the same values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from http import HTTPStatus

from vistack.common.errors import VistackError


class PreconditionFailed(VistackError):
    """`If-Match` names none of the metadata's current tags (412)."""

    status = HTTPStatus.PRECONDITION_FAILED


def etag(metadata: Mapping[str, str]) -> str:
    data = json.dumps({"metadata": dict(metadata)}).encode("utf-8")
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def parse_if_match(header: str | None) -> tuple[str, ...] | None:
    """The tags of an `If-Match` header (quotes and weak markers dropped); None without one."""
    if header is None or not header.strip():
        return None
    tags = []
    for part in header.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag:
            tags.append(tag)
    return tuple(tags)


def check(metadata: Mapping[str, str], if_match: Collection[str] | None) -> None:
    """:raises PreconditionFailed: `if_match` is given and names neither `*` nor the tag."""
    if if_match is None or "*" in if_match:
        return
    current = etag(metadata)
    if current not in if_match:
        raise PreconditionFailed(
            f"The volume's metadata changed: its ETag is {current}, not one of "
            f"{', '.join(if_match)}; read it again and retry."
        )
